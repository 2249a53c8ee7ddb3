"""lamina: a native-accelerated Python runtime for AWS Lambda.

Handlers can annotate their context with :class:`lamina.Context`, and declare numeric arrays of
their event with :func:`lamina.vectorized` (see :mod:`lamina.arrays`).
"""

from lamina.runtime.context import Client, ClientContext, CognitoIdentity, Context
from lamina.streaming import HttpResponse, ResponseStream, stream_response

__version__ = "0.1.0"
__all__ = [
    "Bool",
    "Client",
    "ClientContext",
    "CognitoIdentity",
    "Columns",
    "Context",
    "Float32",
    "Float64",
    "HttpResponse",
    "Int32",
    "Int64",
    "Records",
    "ResponseStream",
    "__version__",
    "stream_response",
    "vectorized",
]

# Imported on first use (PEP 562): a function that declares no arrays never loads lamina.arrays
# (nor numpy, which it imports).
_ARRAYS = frozenset({"Bool", "Columns", "Float32", "Float64", "Int32", "Int64", "Records", "vectorized"})

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lamina.arrays import Bool, Columns, Float32, Float64, Int32, Int64, Records, vectorized


def __getattr__(name: str) -> object:
    if name in _ARRAYS:
        from lamina import arrays

        return getattr(arrays, name)
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")
