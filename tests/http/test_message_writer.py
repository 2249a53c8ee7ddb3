"""The HTTP/1.1 writer: heads, framing, chunked bodies with trailers, and what it refuses to send."""

from __future__ import annotations

import socket

import pytest

from lamina._core import http
from lamina.testing.runtime_api import ScriptedRuntimeApi
from wire import parse_one


def test_a_request_head_with_a_content_length():
    head = http.request_head("POST", "/2018-06-01/runtime/invocation/abc/response",
                             [("Host", "127.0.0.1:9001"), ("Content-Type", "application/json")], content_length=12)
    assert head == (
        b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n"
        b"Host: 127.0.0.1:9001\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
    )


def test_a_request_without_a_body_has_no_framing_header():
    assert http.request_head("GET", "/next", [("Host", "h")]) == b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"


def test_a_zero_length_body_still_says_content_length_0():
    assert http.request_head("POST", "/x", content_length=0).endswith(b"Content-Length: 0\r\n\r\n")


def test_a_response_head():
    head = http.response_head(202, "Accepted", [("Content-Type", "application/json")], content_length=15)
    assert head == b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"


def test_a_chunked_head_says_transfer_encoding_chunked():
    head = http.request_head("POST", "/x", [("Trailer", "A, B")], chunked=True)
    assert head == b"POST /x HTTP/1.1\r\nTrailer: A, B\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_chunks_are_framed_in_hex_and_the_body_ends_with_the_trailers():
    body = http.chunked_body([b"x" * 255, b"hello"], [("Lambda-Runtime-Function-Error-Type", "Runtime.Boom")])
    assert body == (
        b"ff\r\n" + b"x" * 255 + b"\r\n5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.Boom\r\n\r\n"
    )


def test_empty_chunks_are_skipped_because_an_empty_chunk_ends_the_body():
    assert http.chunked_body([b"", b"ab", b""]) == b"2\r\nab\r\n0\r\n\r\n"
    with pytest.raises(http.LocalProtocolError, match="empty chunk would end the body"):
        http.chunk_prefix(0)


def test_a_chunk_prefix_is_the_size_in_hex_and_crlf():
    assert http.chunk_prefix(0x1A2B) == b"1a2b\r\n"


@pytest.mark.parametrize(
    "headers, says",
    [
        ([("X-Injected", "a\r\nSet-Cookie: evil")], "control character"),
        ([("X-Nul", "a\x00b")], "control character"),
        ([("Bad Name", "x")], "invalid header name"),
        ([("", "x")], "invalid header name"),
        ([("Content-Length", "5")], "written from the BodyFraming"),
        ([("transfer-encoding", "chunked")], "written from the BodyFraming"),
    ],
)
def test_headers_that_would_not_parse_back_are_refused(headers, says):
    with pytest.raises(http.LocalProtocolError, match=says):
        http.request_head("POST", "/x", headers, content_length=1)


@pytest.mark.parametrize("method, target", [("GE T", "/x"), ("", "/x"), ("GET", ""), ("GET", "/a b"), ("GET", "/a\nb")])
def test_a_bad_method_or_target_is_refused(method, target):
    with pytest.raises(http.LocalProtocolError):
        http.request_head(method, target)


def test_a_bad_status_or_reason_is_refused():
    with pytest.raises(http.LocalProtocolError, match="invalid status code"):
        http.response_head(42, "Nope")
    with pytest.raises(http.LocalProtocolError, match="reason phrase"):
        http.response_head(200, "O\r\nK")


def test_a_trailer_that_would_not_parse_back_is_refused():
    with pytest.raises(http.LocalProtocolError, match="control character"):
        http.chunked_body([b"a"], [("X", "line\nbreak")])


def test_what_the_writer_writes_the_parser_reads_back():
    head = http.request_head("POST", "/p", [("A", "1"), ("b", "two words")], chunked=True)
    body = http.chunked_body([b"first ", b"second"], [("T", "v")])
    message = parse_one(head + body, kind="request")
    assert (message["method"], message["target"], message["body"]) == (b"POST", b"/p", b"first second")
    assert message["headers"][:2] == [(b"A", b"1"), (b"b", b"two words")]
    assert message["trailers"] == [(b"T", b"v")]


def test_a_streamed_response_with_error_trailers_reaches_a_runtime_api_intact():
    # The shape of a response stream that fails midway (runtime.md, "Response streaming").
    with ScriptedRuntimeApi() as api:
        invocation = api.push(b"{}")
        host, port = api.address.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(http.request_head("GET", "/2018-06-01/runtime/invocation/next", [("Host", api.address)]))
            api.wait_for_path("/invocation/next")
            head = http.request_head(
                "POST",
                f"/2018-06-01/runtime/invocation/{invocation.request_id}/response",
                [
                    ("Host", api.address),
                    ("Lambda-Runtime-Function-Response-Mode", "streaming"),
                    ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"),
                    ("Content-Type", "application/octet-stream"),
                ],
                chunked=True,
            )
            body = http.chunked_body(
                [b"part 1, ", b"part 2"],
                [("Lambda-Runtime-Function-Error-Type", "Runtime.Boom"),
                 ("Lambda-Runtime-Function-Error-Body", "eyJlcnJvck1lc3NhZ2UiOiJib29tIn0=")],
            )
            connection.sendall(head + body)
            reply = api.wait_for_reply(invocation)
    assert reply.chunked
    assert reply.body == b"part 1, part 2"
    assert reply.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert reply.trailer("Lambda-Runtime-Function-Error-Type") == "Runtime.Boom"
    assert reply.trailer("Lambda-Runtime-Function-Error-Body") == "eyJlcnJvck1lc3NhZ2UiOiJib29tIn0="
