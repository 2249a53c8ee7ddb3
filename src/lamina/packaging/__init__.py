"""Packaging lamina for Lambda: layers (provided.al2023 and managed Python runtimes) and
container images, for x86_64 and arm64, built on an x86_64 machine without Docker."""
