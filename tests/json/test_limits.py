"""Sizes Lambda can hand the codec: a 6 MB payload (the synchronous invocation limit) and
nesting far deeper than the limit, which must be a clean error both ways, never a crash."""

from __future__ import annotations

import json
import random

import pytest

from lamina._core import JSONDecodeError, JSONEncodeError, decode_json, encode_json

SIX_MEGABYTES = 6 * 1024 * 1024


def six_megabyte_value() -> list:
    generator = random.Random(3)
    records = []
    size = 2  # The brackets; each record adds its text and a ", " separator.
    while size < SIX_MEGABYTES:
        records.append(
            {
                "id": len(records),
                "name": f"item-{generator.getrandbits(40):x}",
                "price": generator.uniform(0, 1000),
                "tags": ["a", "é", "😀"][: generator.randint(0, 3)],
                "in_stock": generator.random() < 0.5,
                "note": None,
            }
        )
        size += len(json.dumps(records[-1], ensure_ascii=False).encode()) + 2
    return records


def test_six_megabyte_document_round_trips() -> None:
    value = six_megabyte_value()
    document = json.dumps(value, ensure_ascii=False).encode()
    assert len(document) >= SIX_MEGABYTES
    decoded = decode_json(document)
    assert decoded == json.loads(document)
    encoded = encode_json(decoded)
    assert encoded == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_six_megabyte_string_round_trips() -> None:
    text = "x" * SIX_MEGABYTES + "é\n"
    assert decode_json(encode_json(text)) == text


@pytest.mark.parametrize(("opening", "closing"), [(b"[", b"]"), (b'{"k":', b"}")], ids=["arrays", "objects"])
def test_decoding_100000_levels_is_a_clean_error(opening: bytes, closing: bytes) -> None:
    depth = 100_000
    with pytest.raises(JSONDecodeError, match="maximum recursion depth exceeded"):
        decode_json(opening * depth + b"0" + closing * depth)


@pytest.mark.parametrize("container", ["array", "object"])
def test_encoding_100000_levels_is_a_clean_error(container: str) -> None:
    value: object = 0
    for _ in range(100_000):
        value = [value] if container == "array" else {"k": value}
    with pytest.raises(JSONEncodeError, match="maximum recursion depth exceeded"):
        encode_json(value)
