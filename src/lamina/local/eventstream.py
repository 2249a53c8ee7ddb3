"""The ``application/vnd.amazon.eventstream`` framing of InvokeWithResponseStream's answer,
encoding side only, on bytes (botocore's ``botocore.eventstream`` decodes it).

Each message::

    total length (u32 BE) | headers length (u32 BE) | CRC32 of those 8 bytes
    headers | payload | CRC32 of everything before it

and each header ``name length (u8) | name | type (u8) | value``, here always type 7, a string:
``value length (u16 BE) | UTF-8 value``. The events are ``PayloadChunk`` (the chunk's bytes as
payload) and ``InvokeComplete`` (a JSON object ``{"ErrorCode", "ErrorDetails", "LogResult"}``
with the members that apply).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Sequence

STRING_HEADER = 7
PRELUDE_LENGTH = 12  # total length, headers length, prelude CRC
MESSAGE_CRC_LENGTH = 4
MAX_HEADER_VALUE_BYTES = 0xFFFF
# botocore's decoder refuses larger payloads (_MAX_PAYLOAD_LENGTH); chunks are cut below it.
MAX_PAYLOAD_BYTES = 24 * 1024 * 1024


def encode_headers(headers: Sequence[tuple[str, str]]) -> bytes:
    """String headers in the event stream's binary form."""
    encoded = bytearray()
    for name, value in headers:
        name_bytes, value_bytes = name.encode("utf-8"), value.encode("utf-8")
        if not 0 < len(name_bytes) <= 0xFF:
            raise ValueError(f"header name {name!r} must take 1 to 255 bytes")
        if len(value_bytes) > MAX_HEADER_VALUE_BYTES:
            raise ValueError(f"header {name} takes {len(value_bytes)} bytes; at most {MAX_HEADER_VALUE_BYTES}")
        encoded += struct.pack(">B", len(name_bytes)) + name_bytes
        encoded += struct.pack(">BH", STRING_HEADER, len(value_bytes)) + value_bytes
    return bytes(encoded)


def encode_message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One event stream message."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload takes {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    encoded_headers = encode_headers(headers)
    total = PRELUDE_LENGTH + len(encoded_headers) + len(payload) + MESSAGE_CRC_LENGTH
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    crc = zlib.crc32(payload, zlib.crc32(encoded_headers, zlib.crc32(prelude)))
    return b"".join((prelude, encoded_headers, payload, struct.pack(">I", crc)))


def event(event_type: str, payload: bytes, content_type: str) -> bytes:
    """An ``event`` message of ``event_type``."""
    headers = [(":event-type", event_type), (":content-type", content_type), (":message-type", "event")]
    return encode_message(headers, payload)


def payload_chunks(chunk: bytes) -> list[bytes]:
    """``PayloadChunk`` events carrying ``chunk``: one, unless it is larger than a message may
    be; none for an empty chunk."""
    return [
        event("PayloadChunk", chunk[start:start + MAX_PAYLOAD_BYTES], "application/octet-stream")
        for start in range(0, len(chunk), MAX_PAYLOAD_BYTES)
    ]


def invoke_complete(error_code: str | None = None, error_details: str | None = None, log_result: str | None = None) -> bytes:
    """The ``InvokeComplete`` event that ends the stream; members that are None are left out."""
    members = {"ErrorCode": error_code, "ErrorDetails": error_details, "LogResult": log_result}
    body = json.dumps({name: value for name, value in members.items() if value is not None}, separators=(",", ":"))
    return event("InvokeComplete", body.encode(), "application/json")
