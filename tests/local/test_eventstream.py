"""The event-stream encoder of InvokeWithResponseStream (emulator.md, "Invoke API"), on bytes:
botocore's decoder is the oracle, and its parser must make boto3's events of them."""

from __future__ import annotations

import json
import struct
import zlib

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.parsers import EventStreamJSONParser

from lamina.local import eventstream


def decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_a_message_round_trips_through_botocore_with_its_headers_and_payload():
    [message] = decode(eventstream.encode_message([(":event-type", "PayloadChunk"), ("x-name", "vålue")], b"\x00\x01raw"))
    assert message.headers == {":event-type": "PayloadChunk", "x-name": "vålue"}
    assert message.payload == b"\x00\x01raw"


def test_the_framing_is_lengths_prelude_crc_headers_payload_and_message_crc():
    data = eventstream.encode_message([("a", "b")], b"xyz")
    total, headers_length, prelude_crc = struct.unpack(">III", data[:12])
    assert total == len(data) and headers_length == 1 + 1 + 1 + 2 + 1
    assert prelude_crc == zlib.crc32(data[:8])
    assert data[12:12 + headers_length] == b"\x01a\x07\x00\x01b"  # name length, name, type 7 (string), value length, value
    assert data[12 + headers_length:-4] == b"xyz"
    assert struct.unpack(">I", data[-4:])[0] == zlib.crc32(data[:-4])


def test_a_corrupted_message_fails_botocore_checksum():
    data = bytearray(eventstream.encode_message([("a", "b")], b"payload"))
    data[-6] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        decode(bytes(data))


def test_payload_chunk_and_invoke_complete_carry_lambda_s_headers():
    [chunk] = decode(b"".join(eventstream.payload_chunks(b"hello")))
    assert chunk.headers == {":event-type": "PayloadChunk", ":content-type": "application/octet-stream", ":message-type": "event"}
    assert chunk.payload == b"hello"
    [complete] = decode(eventstream.invoke_complete("ValueError", "boom", "TE9H"))
    assert complete.headers == {":event-type": "InvokeComplete", ":content-type": "application/json", ":message-type": "event"}
    assert json.loads(complete.payload) == {"ErrorCode": "ValueError", "ErrorDetails": "boom", "LogResult": "TE9H"}
    assert json.loads(decode(eventstream.invoke_complete())[0].payload) == {}


def test_a_chunk_larger_than_a_message_may_carry_is_split_and_an_empty_one_sends_nothing():
    big = bytes(range(256)) * ((eventstream.MAX_PAYLOAD_BYTES + 1000) // 256)
    messages = eventstream.payload_chunks(big)
    assert len(messages) == 2
    assert b"".join(m.payload for m in decode(b"".join(messages))) == big
    assert eventstream.payload_chunks(b"") == []


def test_header_limits_are_refused():
    with pytest.raises(ValueError):
        eventstream.encode_headers([("", "v")])
    with pytest.raises(ValueError):
        eventstream.encode_headers([("n", "v" * 70_000)])


class _RawStream:
    """What botocore's EventStream reads: an object with stream()."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def stream(self):
        yield from self.pieces

    def close(self) -> None:
        pass


def test_boto3_parses_the_stream_into_payload_chunks_and_invoke_complete():
    model = botocore.session.get_session().get_service_model("lambda")
    output_shape = model.operation_model("InvokeWithResponseStream").output_shape.members["EventStream"]
    data = b"".join(eventstream.payload_chunks(b"first|") + eventstream.payload_chunks(b"second"))
    data += eventstream.invoke_complete("RuntimeError", "broke", None)
    # Split anywhere: the decoder must not care where the HTTP chunks fall. botocore's client
    # parses events with this parser (parsers.RestJSONParser.EVENT_STREAM_PARSER_CLS).
    pieces = [data[i:i + 7] for i in range(0, len(data), 7)]
    events = list(EventStream(_RawStream(pieces), output_shape, EventStreamJSONParser(), "InvokeWithResponseStream"))
    assert events == [
        {"PayloadChunk": {"Payload": b"first|"}},
        {"PayloadChunk": {"Payload": b"second"}},
        {"InvokeComplete": {"ErrorCode": "RuntimeError", "ErrorDetails": "broke"}},
    ]
