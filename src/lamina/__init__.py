"""lamina: a native-accelerated Python runtime for AWS Lambda.

Handlers can annotate their context with :class:`lamina.Context`.
"""

from lamina.runtime.context import Client, ClientContext, CognitoIdentity, Context

__version__ = "0.1.0"
__all__ = ["Client", "ClientContext", "CognitoIdentity", "Context", "__version__"]
