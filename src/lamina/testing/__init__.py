"""Testing utilities: a scripted Runtime API server for runtimes under test."""
