"""lamina: a native-accelerated Python runtime for AWS Lambda.

Handlers can annotate their context with :class:`lamina.Context`.
"""

from lamina.runtime.context import Client, ClientContext, CognitoIdentity, Context
from lamina.streaming import HttpResponse, ResponseStream, stream_response

__version__ = "0.1.0"
__all__ = [
    "Client",
    "ClientContext",
    "CognitoIdentity",
    "Context",
    "HttpResponse",
    "ResponseStream",
    "stream_response",
    "__version__",
]
