"""lamina: a native-accelerated Python runtime for AWS Lambda."""

__version__ = "0.1.0"
