"""The sans-IO HTTP/1.1 parser, on bytes: framing, events, limits, and every class of bad input."""

from __future__ import annotations

import pytest

from lamina._core import http
from wire import events, header, messages_from, parse_one, split_at

CONTENT_LENGTH_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"ok\": true }"
CHUNKED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
    b"5;name=value;flag\r\nhello\r\n"
    b"1 ; quoted=\"a;b\"\r\n,\r\n"
    b"6\r\n world\r\n"
    b"0\r\nX-Checksum: abc\r\nX-Other:  spaced value \r\n\r\n"
)
BODYLESS_REQUEST = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n"


# --- well-formed messages -------------------------------------------------------------------


def test_a_content_length_response_is_one_message_with_its_head_and_body():
    message = parse_one(CONTENT_LENGTH_RESPONSE)
    assert message["status"] == 200
    assert message["reason"] == b"OK"
    assert message["http_version"] == "1.1"
    assert message["headers"] == [(b"Content-Type", b"application/json"), (b"Content-Length", b"13")]
    assert message["body"] == b'{"ok": true }'
    assert message["keep_alive"] is True


def test_the_head_event_comes_as_soon_as_the_head_is_complete():
    parser = http.MessageParser()
    head, body = CONTENT_LENGTH_RESPONSE.split(b"\r\n\r\n")
    parser.receive(head + b"\r\n\r\n")
    assert events(parser) == ["head"]
    assert parser.head["status"] == 200
    parser.receive(body)
    assert [m["body"] for m in events(parser)] == [body]


def test_a_chunked_body_is_dechunked_and_extensions_are_dropped():
    message = parse_one(CHUNKED_RESPONSE)
    assert message["body"] == b"hello, world"


def test_trailers_after_the_last_chunk_are_returned_separately_from_headers():
    message = parse_one(CHUNKED_RESPONSE)
    assert message["trailers"] == [(b"X-Checksum", b"abc"), (b"X-Other", b"spaced value")]
    assert header(message, b"X-Checksum") is None


def test_a_chunked_body_without_trailers_ends_at_the_empty_line():
    message = parse_one(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert message["body"] == b"abc"
    assert message["trailers"] == []


@pytest.mark.parametrize("size", [b"a", b"A", b"0a", b"00000000000000A"])
def test_chunk_sizes_are_hexadecimal_in_either_case_with_leading_zeros(size):
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n0123456789\r\n0\r\n\r\n"
    assert parse_one(data)["body"] == b"0123456789"


@pytest.mark.parametrize(
    "data",
    [CONTENT_LENGTH_RESPONSE, CHUNKED_RESPONSE, b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n"],
    ids=["content-length", "chunked", "no-body"],
)
@pytest.mark.parametrize("in_place", [False, True], ids=["receive", "receive_in_place"])
def test_splitting_the_bytes_at_any_boundary_gives_the_same_message(data, in_place):
    whole = parse_one(data)
    for cut in range(1, len(data)):
        assert messages_from(split_at(data, cut), in_place=in_place) == [whole], f"cut at {cut}"


@pytest.mark.parametrize("data", [CONTENT_LENGTH_RESPONSE, CHUNKED_RESPONSE], ids=["content-length", "chunked"])
def test_feeding_one_byte_at_a_time_gives_the_same_message(data):
    pieces = [data[i : i + 1] for i in range(len(data))]
    assert messages_from(pieces) == [parse_one(data)]
    assert messages_from(pieces, in_place=True) == [parse_one(data)]


def test_pipelined_responses_in_one_buffer_come_out_in_order():
    third = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    found = messages_from([CONTENT_LENGTH_RESPONSE + CHUNKED_RESPONSE + third])
    assert [(m["status"], m["body"]) for m in found] == [(200, b'{"ok": true }'), (200, b"hello, world"), (404, b"")]


def test_pipelined_requests_split_anywhere_come_out_in_order():
    post = b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nContent-Length: 4\r\n\r\n\"ok\""
    data = BODYLESS_REQUEST + post + BODYLESS_REQUEST
    for cut in range(1, len(data), 7):
        found = messages_from(split_at(data, cut, cut + 13), kind="request")
        assert [(m["method"], m["target"], m["body"]) for m in found] == [
            (b"GET", b"/2018-06-01/runtime/invocation/next", b""),
            (b"POST", b"/2018-06-01/runtime/invocation/abc/response", b'"ok"'),
            (b"GET", b"/2018-06-01/runtime/invocation/next", b""),
        ]


def test_framing_headers_are_recognised_in_any_case():
    data = b"HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    assert parse_one(data)["body"] == b"ok"
    assert parse_one(b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\n\r\nok")["body"] == b"ok"


def test_header_names_keep_their_case_and_values_lose_surrounding_whitespace():
    message = parse_one(b"HTTP/1.1 200 OK\r\nLambda-RUNTIME-aws-request-id: \t abc \t\r\nEmpty:\r\nContent-Length: 0\r\n\r\n")
    assert message["headers"][:2] == [(b"Lambda-RUNTIME-aws-request-id", b"abc"), (b"Empty", b"")]


def test_repeated_headers_are_all_kept_in_order():
    message = parse_one(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n")
    assert [value for name, value in message["headers"] if name == b"Set-Cookie"] == [b"a=1", b"b=2"]


def test_values_may_hold_bytes_above_ascii():
    message = parse_one(b"HTTP/1.1 200 OK\r\nX-Name: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n")
    assert header(message, b"X-Name") == "café".encode()


def test_bare_lf_line_endings_are_accepted():
    data = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
    assert parse_one(data)["body"] == b"ok"
    chunked = b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\nT: 1\n\n"
    assert parse_one(chunked)["trailers"] == [(b"T", b"1")]


@pytest.mark.parametrize(
    "status_line, status, reason",
    [
        (b"HTTP/1.1 202 Accepted", 202, b"Accepted"),
        (b"HTTP/1.1 200 ", 200, b""),
        (b"HTTP/1.1 200", 200, b""),
        (b"HTTP/1.1 410 Gone away now", 410, b"Gone away now"),
        (b"HTTP/1.0 200 OK", 200, b"OK"),
    ],
)
def test_status_lines_with_any_reason_or_none(status_line, status, reason):
    message = parse_one(status_line + b"\r\nContent-Length: 0\r\n\r\n")
    assert (message["status"], message["reason"]) == (status, reason)


@pytest.mark.parametrize("status", [100, 103, 204, 304])
def test_interim_no_content_and_not_modified_responses_have_no_body(status):
    data = b"HTTP/1.1 %d Whatever\r\nContent-Length: 5\r\n\r\n" % status
    assert parse_one(data)["body"] == b""


def test_an_interim_response_is_followed_by_the_real_one():
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + CONTENT_LENGTH_RESPONSE
    assert [m["status"] for m in messages_from([data])] == [100, 200]


def test_a_response_without_length_or_chunking_lasts_until_the_connection_closes():
    parser = http.MessageParser()
    parser.receive(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
    assert events(parser) == ["head"]
    parser.receive(b"part two")
    assert events(parser) == []
    parser.receive_eof()
    (message, closed) = events(parser)
    assert message["body"] == b"part one, part two"
    assert message["keep_alive"] is False
    assert closed == "closed"


def test_a_request_without_length_or_chunking_has_no_body():
    assert parse_one(BODYLESS_REQUEST, kind="request")["body"] == b""


@pytest.mark.parametrize(
    "version_and_header, keep_alive",
    [
        (b"HTTP/1.1 200 OK\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\n", False),
        (b"HTTP/1.0 200 OK\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", True),
    ],
)
def test_keep_alive_follows_the_version_and_the_connection_header(version_and_header, keep_alive):
    message = parse_one(version_and_header + b"Content-Length: 0\r\n\r\n")
    assert message["keep_alive"] is keep_alive


def test_a_connection_closed_between_messages_is_an_event_not_an_error():
    parser = http.MessageParser()
    parser.receive(CONTENT_LENGTH_RESPONSE)
    assert len(events(parser)) == 2
    assert parser.started_message is False
    parser.receive_eof()
    assert events(parser) == ["closed"]


def test_started_message_tells_whether_any_byte_of_an_answer_arrived():
    parser = http.MessageParser()
    assert parser.started_message is False
    parser.receive(b"H")
    assert parser.started_message is True


def test_identical_repeated_content_lengths_are_one_length():
    assert parse_one(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok")["body"] == b"ok"
    assert parse_one(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nok")["body"] == b"ok"


@pytest.mark.parametrize("in_place", [False, True], ids=["receive", "receive_in_place"])
def test_a_six_megabyte_body_arrives_whole(in_place):
    body = bytes(range(256)) * (6 * 1024 * 1024 // 256) + b"tail"
    data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert messages_from(pieces, in_place=in_place)[0]["body"] == body


@pytest.mark.parametrize("in_place", [False, True], ids=["receive", "receive_in_place"])
def test_a_six_megabyte_chunked_body_arrives_whole(in_place):
    body = bytes(range(256)) * (6 * 1024 * 1024 // 256)
    chunks = [body[i : i + 1_000_003] for i in range(0, len(body), 1_000_003)]
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + http.chunked_body(chunks)
    pieces = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]
    assert messages_from(pieces, in_place=in_place)[0]["body"] == body


# --- bad input: each class is refused with a message that says what was wrong ---------------


def refused(data: bytes, kind: str = "response", **options) -> str:
    with pytest.raises(http.RemoteProtocolError) as raised:
        messages_from([data], kind, **options)
    return str(raised.value)


@pytest.mark.parametrize(
    "status_line",
    [b"HTTP/1.1 2000 OK", b"HTTP/1.1 20 OK", b"HTTP/1.1 OK", b"HTTP/1.1 200OK", b"garbage", b"ICY 200 OK",
     b"HTTP/1.1  200 OK", b"HTTP/11 200 OK", b"http/1.1 200 OK", b"HTTP/1.1 099 Low", b""],
)
def test_a_malformed_status_line_is_refused(status_line):
    message = refused(status_line + b"\r\nContent-Length: 0\r\n\r\n")
    assert "malformed status line" in message


def test_a_status_line_of_another_http_version_is_refused_by_name():
    assert "unsupported HTTP version 'HTTP/2.0'" in refused(b"HTTP/2.0 200 OK\r\n\r\n")


def test_a_control_character_in_the_reason_is_refused():
    assert "reason phrase" in refused(b"HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    "request_line", [b"GET /next", b"GET  /next HTTP/1.1", b"G(T /next HTTP/1.1", b"GET /a\x7fb HTTP/1.1", b"GET / HTTP/1.1 x"]
)
def test_a_malformed_request_line_is_refused(request_line):
    message = refused(request_line + b"\r\n\r\n", kind="request")
    assert "request line" in message or "HTTP version" in message


@pytest.mark.parametrize(
    "header_line, says",
    [
        (b"NoColonHere", "no colon"),
        (b"Bad Name: x", "malformed header name"),
        (b"Name : x", "whitespace before the colon"),
        (b": no name", "malformed header name"),
        (b"X-Value: a\x00b", "control character in the value of header 'X-Value'"),
        (b"X-Value: a\x1bb", "control character"),
        (b"X-Value: a\rb", "bare CR"),
        (b"X-\xff: b", "malformed header name"),
    ],
)
def test_a_malformed_header_line_is_refused(header_line, says):
    assert says in refused(b"HTTP/1.1 200 OK\r\n" + header_line + b"\r\nContent-Length: 0\r\n\r\n")


def test_obsolete_line_folding_is_refused():
    message = refused(b"HTTP/1.1 200 OK\r\nX-Long: first\r\n  continued\r\nContent-Length: 0\r\n\r\n")
    assert "obsolete line folding" in message


def test_whitespace_before_the_first_header_is_refused_as_folding():
    assert "obsolete line folding" in refused(b"HTTP/1.1 200 OK\r\n X: y\r\n\r\n")


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1.5", b"+5", b"0x10", b"", b"5 5", b"5,"])
def test_an_invalid_content_length_is_refused(value):
    assert "invalid Content-Length" in refused(b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nhello")


@pytest.mark.parametrize(
    "headers", [b"Content-Length: 5\r\nContent-Length: 6\r\n", b"Content-Length: 5, 6\r\n"], ids=["two-fields", "list"]
)
def test_conflicting_content_lengths_are_refused(headers):
    assert "conflicting Content-Length values '5' and '6'" in refused(b"HTTP/1.1 200 OK\r\n" + headers + b"\r\nhello")


@pytest.mark.parametrize("length", [10**30, 2**64, 256 * 1024 * 1024 + 1])
def test_a_content_length_over_the_body_limit_is_refused_before_reading_the_body(length):
    message = refused(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % length)
    assert message == f"Content-Length {length} exceeds the body limit of 268435456 bytes"


def test_the_body_limit_can_be_lowered():
    assert "exceeds the body limit of 10 bytes" in refused(
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", max_body_bytes=10
    )
    assert parse_one(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", max_body_bytes=10)["body"]


def test_a_chunked_body_over_the_body_limit_is_refused():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n"
    assert "chunked body exceeds the body limit of 10 bytes" in refused(data, max_body_bytes=10)


def test_a_body_until_close_over_the_body_limit_is_refused():
    assert "body exceeds the limit of 4 bytes" in refused(b"HTTP/1.1 200 OK\r\n\r\n12345", max_body_bytes=4)


def test_transfer_encoding_together_with_content_length_is_refused():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert "both Transfer-Encoding and Content-Length" in refused(data)


@pytest.mark.parametrize("coding", [b"gzip", b"gzip, chunked", b"chunked, chunked", b"identity"])
def test_transfer_codings_other_than_chunked_alone_are_refused(coding):
    message = refused(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + coding + b"\r\n\r\n0\r\n\r\n")
    assert "unsupported Transfer-Encoding" in message


@pytest.mark.parametrize(
    "size_line", [b"zz", b"", b"-1", b"1 2", b"1;\x00", b" 1", b"0x1"], ids=["letters", "empty", "negative", "two-numbers", "nul-ext", "leading-space", "0x"]
)
def test_a_bad_chunk_size_line_is_refused(size_line):
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\nx\r\n0\r\n\r\n"
    assert "invalid chunk size line" in refused(data)


def test_a_chunk_size_beyond_64_bits_is_refused():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b"\r\n"
    assert "chunk size too large" in refused(data)


def test_chunk_data_longer_than_its_size_is_refused():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"
    assert "chunk data not followed by CRLF (got 'd\\r\\n0\\r\\n\\r\\n')" in refused(data)


def test_an_endless_chunk_size_line_is_refused():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"x" * 5000
    assert "chunk size line longer than 4096 bytes" in refused(data)


def test_a_malformed_trailer_is_refused():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n"
    assert "in the trailer section: malformed header line" in refused(data)


def test_a_head_over_the_head_limit_is_refused_even_before_it_ends():
    big_header = b"X-Big: " + b"a" * 2000 + b"\r\n"
    assert "message head exceeds the limit of 1024 bytes" in refused(b"HTTP/1.1 200 OK\r\n" + big_header, max_head_bytes=1024)
    complete = b"HTTP/1.1 200 OK\r\n" + big_header + b"Content-Length: 0\r\n\r\n"
    assert "message head exceeds the limit of 1024 bytes" in refused(complete, max_head_bytes=1024)


def test_a_trailer_section_over_the_head_limit_is_refused():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: " + b"a" * 2000
    assert "trailer section exceeds the limit of 1024 bytes" in refused(data, max_head_bytes=1024)


def test_an_error_is_raised_again_on_every_later_call():
    parser = http.MessageParser()
    parser.receive(b"garbage\r\n\r\n")
    for _ in range(2):
        with pytest.raises(http.RemoteProtocolError, match="malformed status line 'garbage'"):
            parser.next_event()


def test_quoted_bytes_in_errors_are_printable_and_short():
    message = refused(b"\x00\x01" + b"z" * 200 + b"\r\n\r\n")
    assert message.startswith("malformed status line '\\x00\\x01zzz")
    assert message.endswith("...")
    assert len(message) < 150


# --- a connection closed mid-message --------------------------------------------------------


@pytest.mark.parametrize(
    "truncated, says",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Le", "connection closed in the middle of the message head (27 bytes received"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n123", "connection closed after 3 of 10 body bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "connection closed in a chunked body after 2 body bytes (3 bytes of the current chunk missing)"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde", "connection closed in a chunked body after 5 body bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", "connection closed in a chunked body after 5 body bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n", "connection closed in the trailer section"),
    ],
    ids=["head", "content-length-body", "chunk-data", "chunk-end", "chunk-size", "trailers"],
)
def test_a_connection_closed_mid_message_is_an_error_that_says_how_far_it_got(truncated, says):
    assert says in refused_at_eof(truncated)


def refused_at_eof(data: bytes) -> str:
    with pytest.raises(http.RemoteProtocolError) as raised:
        messages_from([data], eof=True)
    return str(raised.value)
