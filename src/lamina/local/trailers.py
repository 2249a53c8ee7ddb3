"""HTTP trailers of the requests runtimes send, which aiohttp's server parses and drops.

A streamed ``/response`` reports a mid-stream error in its trailers
(``Lambda-Runtime-Function-Error-Type``, ``-Error-Body``), so the environment's endpoint puts
a :class:`TrailerTap` in front of aiohttp on each connection. The tap follows the requests'
framing (heads, Content-Length bodies, chunked bodies) on the raw bytes and passes them on
unchanged, except that

- a chunked request's head gets one more field, ``Lambda-Local-Message-Id: <n>``, and
- its trailer section is taken out (aiohttp would drop it anyway) and recorded under that id,

so that the request's handler, having read the body to its end, finds its trailers with
:meth:`TrailerRegistry.take`. Input the tap cannot follow (malformed framing, a head too
large) is passed on untouched from there on, for aiohttp to answer as it does.

:class:`TrailerTap` is sans-IO (bytes in, bytes out); :class:`TrailerCapturingProtocol` is
the asyncio shell around it.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from typing import Callable

from aiohttp import web

MESSAGE_ID_HEADER = "Lambda-Local-Message-Id"
MAX_CHUNK_LINE_BYTES = 4096
_UNCLAIMED_KEPT = 64  # trailers nobody took (a chunked /error, an abandoned read) are let go


class _State(enum.Enum):
    HEAD = "head"
    FIXED_BODY = "fixed body"
    CHUNK_LINE = "chunk size line"
    CHUNK_DATA = "chunk data"
    CHUNK_DATA_END = "chunk data end"
    TRAILERS = "trailers"
    PASS_THROUGH = "pass through"  # framing not followed any more


class TrailerTap:
    """Follows the requests of one connection on its raw bytes: :meth:`feed` returns what to
    pass on to the HTTP server; ``on_trailers(message_id, fields)`` gets each chunked
    request's trailer fields (only when it has some)."""

    def __init__(
        self,
        new_message_id: Callable[[], str],
        on_trailers: Callable[[str, list[tuple[str, str]]], None],
        max_head_bytes: int,
    ) -> None:
        self._new_message_id = new_message_id
        self._on_trailers = on_trailers
        self._max_head_bytes = max_head_bytes
        self._state = _State.HEAD
        self._pending = b""  # an incomplete head, chunk line or trailer section
        self._remaining = 0  # bytes left of a fixed body or of a chunk
        self._message_id = ""

    @property
    def following(self) -> bool:
        """False once the tap gave up on the framing (it then passes bytes on as they come)."""
        return self._state is not _State.PASS_THROUGH

    def feed(self, data: bytes) -> list[bytes]:
        """Takes the next received bytes; returns the pieces to pass on, in order."""
        buffer = self._pending + data if self._pending else data
        self._pending = b""
        out: list[bytes] = []
        run = 0  # start of the bytes passed on unchanged
        position, end = 0, len(buffer)
        while position < end:
            state = self._state
            if state is _State.PASS_THROUGH:
                position = end
            elif state is _State.HEAD:
                head_end = buffer.find(b"\r\n\r\n", position)
                if head_end < 0:
                    if end - position > self._max_head_bytes:
                        self._state = _State.PASS_THROUGH
                        continue
                    break
                after = head_end + 4
                try:
                    chunked, length = _framing(buffer[position:head_end])
                except ValueError:
                    self._state = _State.PASS_THROUGH
                    continue
                if chunked:
                    self._message_id = self._new_message_id()
                    out.append(buffer[run:head_end + 2])
                    out.append(f"{MESSAGE_ID_HEADER}: {self._message_id}\r\n\r\n".encode())
                    run = after
                    self._state = _State.CHUNK_LINE
                elif length:
                    self._remaining = length
                    self._state = _State.FIXED_BODY
                position = after
            elif state is _State.FIXED_BODY:
                taken = min(self._remaining, end - position)
                position += taken
                self._remaining -= taken
                if self._remaining == 0:
                    self._state = _State.HEAD
            elif state is _State.CHUNK_LINE:
                line_end = buffer.find(b"\r\n", position)
                if line_end < 0:
                    if end - position > MAX_CHUNK_LINE_BYTES:
                        self._state = _State.PASS_THROUGH
                        continue
                    break
                try:
                    size = _chunk_size(buffer[position:line_end])
                except ValueError:
                    self._state = _State.PASS_THROUGH
                    continue
                position = line_end + 2
                if size == 0:
                    out.append(buffer[run:position])
                    run = position
                    self._state = _State.TRAILERS
                else:
                    self._remaining = size
                    self._state = _State.CHUNK_DATA
            elif state is _State.CHUNK_DATA:
                taken = min(self._remaining, end - position)
                position += taken
                self._remaining -= taken
                if self._remaining == 0:
                    self._state = _State.CHUNK_DATA_END
            elif state is _State.CHUNK_DATA_END:
                if end - position < 2:
                    break
                if buffer[position:position + 2] != b"\r\n":
                    self._state = _State.PASS_THROUGH
                    continue
                position += 2
                self._state = _State.CHUNK_LINE
            else:  # TRAILERS
                if buffer.startswith(b"\r\n", position):
                    position += 2
                    self._state = _State.HEAD
                    continue
                section_end = buffer.find(b"\r\n\r\n", position)
                if section_end < 0:
                    if end - position > self._max_head_bytes:
                        self._state = _State.PASS_THROUGH
                        continue
                    break
                try:
                    fields = _fields(buffer[position:section_end])
                except ValueError:
                    self._state = _State.PASS_THROUGH
                    continue
                self._on_trailers(self._message_id, fields)
                out.append(b"\r\n")  # the empty trailer section ends the body
                position = run = section_end + 4
                self._state = _State.HEAD
        if self._state is _State.PASS_THROUGH:
            position = end
        if position > run:
            out.append(buffer if run == 0 and position == end else buffer[run:position])
        self._pending = buffer[position:]
        return out

    def feed_eof(self) -> list[bytes]:
        """The peer closed its side: what was held back goes on as it is."""
        pending, self._pending = self._pending, b""
        self._state = _State.PASS_THROUGH
        return [pending] if pending else []


def _framing(head: bytes) -> tuple[bool, int]:
    """(chunked, Content-Length) of a request head; ValueError for framing the tap does not
    follow (aiohttp refuses such requests, or closes the connection after them)."""
    transfer_encoding: list[str] = []
    lengths: list[str] = []
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        lowered = name.strip().lower()
        if lowered == b"transfer-encoding":
            transfer_encoding += [part.strip().lower() for part in value.decode("latin-1").split(",")]
        elif lowered == b"content-length":
            lengths.append(value.decode("latin-1").strip())
    if transfer_encoding:
        if lengths or transfer_encoding[-1] != "chunked":
            raise ValueError("Transfer-Encoding with Content-Length, or not ending with chunked")
        return True, 0
    if not lengths:
        return False, 0
    if len(set(lengths)) != 1 or not lengths[0].isdigit():
        raise ValueError("invalid Content-Length")
    return False, int(lengths[0])


def _chunk_size(line: bytes) -> int:
    digits = line.split(b";", 1)[0].strip()
    if not digits or any(c not in b"0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"invalid chunk size line {line[:40]!r}")
    return int(digits, 16)


def _fields(section: bytes) -> list[tuple[str, str]]:
    fields = []
    for line in section.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"malformed trailer line {line[:40]!r}")
        fields.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return fields


class TrailerCapturingProtocol(asyncio.Protocol):
    """An asyncio protocol that passes a connection's bytes through a :class:`TrailerTap`
    to the HTTP server's own protocol; everything else goes straight to it."""

    def __init__(self, inner: asyncio.Protocol, tap: TrailerTap) -> None:
        self._inner = inner
        self._tap = tap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        for piece in self._tap.feed(data):
            self._inner.data_received(piece)

    def eof_received(self) -> bool | None:
        for piece in self._tap.feed_eof():
            self._inner.data_received(piece)
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class TrailerRegistry:
    """The trailers of one endpoint's chunked requests, until their handlers take them."""

    def __init__(self, max_head_bytes: int) -> None:
        self._max_head_bytes = max_head_bytes
        self._counter = 0
        self._trailers: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()

    def protocol_factory(self, server_factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """Wraps an HTTP server's protocol factory (an aiohttp ``web.Server``)."""
        def make() -> asyncio.Protocol:
            tap = TrailerTap(self._new_message_id, self._record, self._max_head_bytes)
            return TrailerCapturingProtocol(server_factory(), tap)

        return make

    def take(self, request: web.Request) -> list[tuple[str, str]]:
        """The trailer fields of ``request`` (after its body was read to the end); [] if none."""
        ids = request.headers.getall(MESSAGE_ID_HEADER, [])
        return self._trailers.pop(ids[-1], []) if ids else []

    def _new_message_id(self) -> str:
        self._counter += 1
        return str(self._counter)

    def _record(self, message_id: str, fields: list[tuple[str, str]]) -> None:
        self._trailers[message_id] = fields
        while len(self._trailers) > _UNCLAIMED_KEPT:
            self._trailers.popitem(last=False)
