"""Response streaming: a handler sends its response as it produces it.

Two ways, both sent chunk by chunk as Lambda's streaming mode expects (runtime.md,
"Response streaming"):

- a generator (or async generator) handler: every item it yields is sent when yielded::

      def handler(event, context):
          yield "first part "
          yield b"second part"

- an explicit stream, as Node.js's ``awslambda.streamifyResponse``::

      @lamina.stream_response
      def handler(event, response_stream, context):
          response_stream.set_content_type("text/plain")
          response_stream.write("hello ")
          response_stream.end("world")

For function URLs, start with the HTTP response's status, headers and cookies:
``yield lamina.HttpResponse(200, {"content-type": "text/html"})`` as the first item, or
``response_stream.start_http_response(200, {...})``. An exception before the first byte is
an ordinary invocation error; after it, the stream ends with Lambda's error trailers.
"""

from __future__ import annotations

from lamina import _core

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, AsyncIterator, Callable, Iterator, TypeVar, Union

    Chunk = Union[bytes, bytearray, memoryview, str]
    HandlerFunction = TypeVar("HandlerFunction", bound=Callable[..., Any])

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
_PRELUDE_SEPARATOR = b"\x00" * 8


class HttpResponse:
    """The start of a streamed HTTP response (function URLs, API Gateway): its status code,
    headers and cookies, sent before the body as Lambda's HTTP integration prelude."""

    __slots__ = ("status_code", "headers", "cookies")

    def __init__(self, status_code: int = 200, headers: dict[str, str] | None = None, cookies: list[str] | None = None) -> None:
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.cookies = list(cookies or [])

    def prelude(self) -> bytes:
        """The JSON head and the 8 NUL bytes that separate it from the body."""
        head = {"statusCode": self.status_code, "headers": self.headers, "cookies": self.cookies}
        return _core.encode_json(head) + _PRELUDE_SEPARATOR

    def __repr__(self) -> str:
        return f"HttpResponse({self.status_code}, {self.headers!r}, {self.cookies!r})"


class ResponseStream:
    """The response of a streaming handler; what is written reaches the caller right away."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def started(self) -> bool:
        """Whether the first byte has gone out (after it, errors can no longer be reported
        as an ordinary invocation error)."""
        return self._native.started

    def set_content_type(self, content_type: str) -> None:
        """The response's Content-Type (default ``application/octet-stream``); before the first write."""
        self._native.set_content_type(content_type)

    def start_http_response(self, status_code: int = 200, headers: dict[str, str] | None = None, cookies: list[str] | None = None) -> None:
        """Starts an HTTP response for function URLs: status, headers and cookies, then the body."""
        self._native.set_content_type(HTTP_INTEGRATION_CONTENT_TYPE)
        self._native.write(HttpResponse(status_code, headers, cookies).prelude())

    def write(self, data: Chunk) -> None:
        """Sends ``data`` (bytes-like, or str as UTF-8) to the caller now."""
        self._native.write(data)

    def end(self, data: Chunk | None = None) -> None:
        """Writes ``data`` if given and ends the response; the caller sees it complete."""
        if data:
            self._native.write(data)
        self._native.finish()


def stream_response(handler: HandlerFunction) -> HandlerFunction:
    """Makes ``handler(event, response_stream, context)`` a streaming handler."""
    handler.__lamina_stream_response__ = True  # type: ignore[attr-defined]
    return handler


def is_stream_response_handler(handler: Any) -> bool:
    return bool(getattr(handler, "__lamina_stream_response__", False))


def drain(items: Iterator[Any], stream: ResponseStream) -> None:
    """Writes every item a generator handler yields."""
    first = True
    for item in items:
        _write_item(stream, item, first)
        first = False


async def drain_async(items: AsyncIterator[Any], stream: ResponseStream) -> None:
    """Writes every item an async generator handler yields."""
    first = True
    async for item in items:
        _write_item(stream, item, first)
        first = False


def _write_item(stream: ResponseStream, item: Any, first: bool) -> None:
    if isinstance(item, HttpResponse):
        if not first:
            raise TypeError("an HttpResponse can only be the first item a streaming handler yields")
        stream.start_http_response(item.status_code, item.headers, item.cookies)
    elif isinstance(item, (bytes, bytearray, memoryview, str)):
        stream.write(item)
    else:
        raise TypeError(f"a streaming handler yields bytes or str, not {type(item).__name__}")
