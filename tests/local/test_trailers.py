"""The trailer tap in front of the environment's HTTP server, on bytes: requests pass through
unchanged except chunked ones (an id field in the head, the trailer section taken out and
recorded under it); input it cannot follow passes through untouched. aiohttp's own parser,
fed what the tap passes on, is the oracle for "still the same requests"."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from lamina.local.trailers import MESSAGE_ID_HEADER, TrailerRegistry, TrailerTap

STREAMED = (
    b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: x\r\n"
    b"Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
    b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
    b"5\r\nhello\r\n6;ext=1\r\n world\r\n"
    b"0\r\nLambda-Runtime-Function-Error-Type: Custom.Broken\r\nLambda-Runtime-Function-Error-Body: e30=\r\n\r\n"
)
NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
FIXED = b"POST /2018-06-01/runtime/invocation/r2/response HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0\r\n\r\nX: 1\r\n"


class Recorder:
    def __init__(self) -> None:
        self.trailers: dict[str, list[tuple[str, str]]] = {}
        self.counter = 0

    def new_id(self) -> str:
        self.counter += 1
        return str(self.counter)

    def record(self, message_id: str, fields: list[tuple[str, str]]) -> None:
        self.trailers[message_id] = fields


def tap_output(data: bytes, piece_size: int | None = None) -> tuple[bytes, Recorder, bool]:
    """What the tap passes on for ``data`` fed in pieces, then the end; the trailers it
    recorded; whether it still followed the framing before the end."""
    recorder = Recorder()
    tap = TrailerTap(recorder.new_id, recorder.record, max_head_bytes=1024)
    size = piece_size or len(data) or 1
    out = b"".join(b"".join(tap.feed(data[i:i + size])) for i in range(0, len(data), size))
    following = tap.following
    return out + b"".join(tap.feed_eof()), recorder, following


def test_a_chunked_request_gets_an_id_and_loses_its_trailers_which_are_recorded():
    out, recorder, _ = tap_output(STREAMED)
    head, body = STREAMED.split(b"\r\n\r\n", 1)
    assert out == head + f"\r\n{MESSAGE_ID_HEADER}: 1\r\n\r\n".encode() + b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
    assert recorder.trailers == {
        "1": [("Lambda-Runtime-Function-Error-Type", "Custom.Broken"), ("Lambda-Runtime-Function-Error-Body", "e30=")]
    }


@pytest.mark.parametrize("piece_size", [1, 2, 3, 5, 13, 64])
def test_the_output_does_not_depend_on_how_the_bytes_arrive(piece_size):
    data = NEXT + STREAMED + FIXED + STREAMED
    whole, whole_recorder, _ = tap_output(data)
    pieces, pieces_recorder, _ = tap_output(data, piece_size)
    assert pieces == whole and pieces_recorder.trailers == whole_recorder.trailers
    assert set(whole_recorder.trailers) == {"1", "2"}


def test_requests_without_chunked_bodies_pass_through_unchanged():
    data = NEXT + FIXED + NEXT  # FIXED's body looks like a chunk end and a trailer: it is body
    out, recorder, following = tap_output(data)
    assert out == data and recorder.trailers == {} and following


def test_a_chunked_request_without_trailers_only_gets_its_id():
    data = b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + NEXT
    out, recorder, following = tap_output(data)
    assert out == data.replace(b"chunked\r\n\r\n", f"chunked\r\n{MESSAGE_ID_HEADER}: 1\r\n\r\n".encode(), 1)
    assert recorder.trailers == {} and following


@pytest.mark.parametrize(
    ("request_bytes", "head_followed"),
    [
        (b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", False),
        (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc", False),
        (b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", True),
        (b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n", True),
        (b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded: x\r\n\r\n", True),
    ],
    ids=["te-and-cl", "bad-length", "bad-chunk-size", "bad-chunk-end", "bad-trailer"],
)
def test_framing_it_cannot_follow_passes_through_untouched_from_there_on(request_bytes, head_followed):
    out, recorder, following = tap_output(request_bytes + NEXT, piece_size=4)
    assert not following and recorder.trailers == {}
    expected = request_bytes + NEXT
    if head_followed:  # the head got its id before the body went wrong
        expected = expected.replace(b"chunked\r\n\r\n", f"chunked\r\n{MESSAGE_ID_HEADER}: 1\r\n\r\n".encode(), 1)
    assert out == expected


def test_a_head_larger_than_the_limit_is_passed_through():
    data = b"POST /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000
    out, _, following = tap_output(data, piece_size=100)
    assert out == data and not following


def test_an_incomplete_trailer_section_is_held_until_complete_then_dropped():
    recorder = Recorder()
    tap = TrailerTap(recorder.new_id, recorder.record, max_head_bytes=1024)
    head = b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert b"".join(tap.feed(head + b"1\r\na\r\n0\r\nA: 1\r\n")).endswith(b"1\r\na\r\n0\r\n")
    assert recorder.trailers == {}
    assert tap.feed(b"\r\n") == [b"\r\n"]
    assert recorder.trailers == {"1": [("A", "1")]}


def test_aiohttp_behind_the_tap_reads_the_same_requests_and_the_handler_finds_its_trailers():
    """A real aiohttp server behind the tap, with the registry the environment uses."""

    async def scenario():
        registry = TrailerRegistry(max_head_bytes=1 << 16)
        seen = []

        async def handler(request: web.Request) -> web.Response:
            body = await request.read()
            seen.append((request.method, request.path, body, registry.take(request)))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_route("*", "/{path:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(registry.protocol_factory(runner.server), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(NEXT + STREAMED + FIXED + STREAMED.replace(b"Custom.Broken", b"Other"))
        await writer.drain()
        answers = b""
        while answers.count(b"HTTP/1.1 200") < 4:
            answers += await asyncio.wait_for(reader.read(65536), 10)
        writer.close()
        server.close()
        await runner.cleanup()
        return seen

    seen = asyncio.run(scenario())
    assert [(method, path, body) for method, path, body, _ in seen] == [
        ("GET", "/2018-06-01/runtime/invocation/next", b""),
        ("POST", "/2018-06-01/runtime/invocation/r1/response", b"hello world"),
        ("POST", "/2018-06-01/runtime/invocation/r2/response", b"0\r\n\r\nX: 1\r\n"),
        ("POST", "/2018-06-01/runtime/invocation/r1/response", b"hello world"),
    ]
    assert [dict(trailers).get("Lambda-Runtime-Function-Error-Type") for *_, trailers in seen] == [
        None, "Custom.Broken", None, "Other",
    ]
