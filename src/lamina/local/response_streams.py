"""A streamed response on its way from the runtime to the caller.

:class:`ResponseStream` is the channel between the two: the Runtime API's handler puts each
chunk of the runtime's ``/response`` as it arrives, the caller's side (InvokeWithResponseStream,
a function URL, ``lamina invoke``) gets them in order. It holds at most ``limit_bytes``: a
runtime that writes faster than its caller reads waits (and, through the socket, so does the
runtime), so a stream is never gathered whole.

:func:`chunks_while_connected` is for the HTTP servers that relay a stream: it notices a
client that went away even while no chunk is coming.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import AsyncIterator

from aiohttp import web

DEFAULT_BUFFER_BYTES = 1 << 20
DISCONNECT_POLL_SECONDS = 0.25


class ResponseStream:
    """One invocation's streamed response between the Runtime API and the caller."""

    def __init__(self, limit_bytes: int = DEFAULT_BUFFER_BYTES) -> None:
        loop = asyncio.get_running_loop()
        self.limit_bytes = limit_bytes
        # The stream's content type, once the runtime starts it (cancelled when the invocation
        # ended without one: a buffered answer, an error, a crash).
        self.started: asyncio.Future[str] = loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._ended = False  # no more chunks will come
        self._detached = False  # the caller went away: chunks are not wanted any more
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    @property
    def detached(self) -> bool:
        return self._detached

    def start(self, content_type: str) -> None:
        if not self.started.done():
            self.started.set_result(content_type)

    async def put(self, chunk: bytes) -> bool:
        """Adds a chunk; waits while the caller is ``limit_bytes`` behind. False when the
        chunk is not wanted: the caller went away, or the stream was closed (stop sending)."""
        if self._ended or self._detached:
            return False
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        _wake(self._readable)
        while self._buffered > self.limit_bytes and not (self._ended or self._detached):
            self._writable = asyncio.get_running_loop().create_future()
            await self._writable
        return not (self._ended or self._detached)

    def close(self) -> None:
        """No more chunks: the caller gets what is buffered, then the end."""
        self._ended = True
        if not self.started.done():
            self.started.cancel()
        _wake(self._readable)
        _wake(self._writable)

    def detach(self) -> None:
        """The caller went away: buffered chunks are dropped and a waiting writer released."""
        self._detached = True
        self._chunks.clear()
        self._buffered = 0
        _wake(self._readable)
        _wake(self._writable)

    async def get(self) -> bytes | None:
        """The next chunk, or None at the end."""
        while not self._chunks:
            if self._ended or self._detached:
                return None
            self._readable = asyncio.get_running_loop().create_future()
            await self._readable
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._buffered <= self.limit_bytes:
            _wake(self._writable)
        return chunk


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class ClientDisconnected(ConnectionError):
    """The HTTP client of a streamed response closed its connection."""


async def chunks_while_connected(chunks: AsyncIterator[bytes], request: web.Request) -> AsyncIterator[bytes]:
    """``chunks``, as long as the client of ``request`` is connected: raises
    ClientDisconnected as soon as it is gone, even while waiting for the next chunk (which
    is then cancelled). aiohttp does not cancel a handler whose client went away; writing
    would only notice at the next chunk, and a function may stream slowly."""
    iterator = chunks.__aiter__()
    while True:
        step = asyncio.ensure_future(iterator.__anext__())
        try:
            while True:
                done, _ = await asyncio.wait({step}, timeout=DISCONNECT_POLL_SECONDS)
                if done:
                    break
                if _client_gone(request):
                    raise ClientDisconnected("the client closed the connection")
        finally:
            if not step.done():
                step.cancel()
                await asyncio.gather(step, return_exceptions=True)
        try:
            chunk = step.result()
        except StopAsyncIteration:
            return
        yield chunk


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
