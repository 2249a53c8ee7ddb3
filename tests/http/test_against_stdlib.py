"""The parser against the standard library's http.client as an oracle, on generated responses."""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina._core import http as wire
from wire import messages_from, split_at

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~", min_size=1, max_size=20)
FIELD_VALUE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30).map(str.strip)
RESERVED = {"content-length", "transfer-encoding", "connection"}


class _FakeSocket:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._data)


def stdlib_parse(data: bytes) -> dict:
    response = http.client.HTTPResponse(_FakeSocket(data))  # type: ignore[arg-type]
    response.begin()
    return {
        "status": response.status,
        "reason": response.reason.encode("latin-1"),
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.getheaders()],
        "body": response.read(),
    }


@st.composite
def responses(draw) -> bytes:
    status = draw(st.sampled_from([200, 202, 400, 403, 410, 413, 500]))
    reason = draw(st.sampled_from(["OK", "Accepted", "Bad Request", "Gone", "", "Whatever it says"]))
    headers = draw(st.lists(st.tuples(TOKEN, FIELD_VALUE), max_size=8))
    headers = [(name, value) for name, value in headers if name.lower() not in RESERVED]
    body = draw(st.binary(max_size=3000))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    if draw(st.booleans()):
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
    chunks = [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)]) if end > start]
    framed = b"".join(
        b"%x%s\r\n%s\r\n" % (len(chunk), draw(st.sampled_from([b"", b";a=b", b"; name"])), chunk) for chunk in chunks
    )
    return (head + "Transfer-Encoding: chunked\r\n\r\n").encode("latin-1") + framed + b"0\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(data=responses(), cut_fraction=st.floats(0, 1))
def test_the_parser_agrees_with_http_client_on_well_formed_responses(data, cut_fraction):
    oracle = stdlib_parse(data)
    (ours,) = messages_from(split_at(data, int(len(data) * cut_fraction)))
    assert {key: ours[key] for key in oracle} == oracle


@pytest.mark.parametrize(
    "status_line", [b"garbage", b"HTTP/1.1 2000 OK", b"HTTP/1.1 OK", b"HTTP/1.1 20 OK"]
)
def test_status_lines_http_client_rejects_are_rejected_too(status_line):
    data = status_line + b"\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(http.client.HTTPException):
        stdlib_parse(data)
    with pytest.raises(wire.RemoteProtocolError):
        messages_from([data])
