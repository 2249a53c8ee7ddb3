"""Reference and memory leaks: decode and encode a mid-size event many times in one process;
resident memory must not grow (a leaked reference per call would add megabytes)."""

from __future__ import annotations

import decimal
import gc
import json

import pytest

from lamina._core import JSONDecodeError, JSONEncodeError, decode_json, encode_json

EVENT = json.dumps(
    {
        "version": "2.0",
        "routeKey": "POST /orders",
        "headers": {"content-type": "application/json", "user-agent": "curl/8.5", "x-forwarded-for": "203.0.113.7"},
        "requestContext": {"http": {"method": "POST", "path": "/orders"}, "timeEpoch": 1710270238000},
        "body": "{\"items\": [1, 2, 3]}",
        "items": [{"sku": f"A-{index}", "qty": index, "price": index * 1.25, "gift": index % 2 == 0, "note": None} for index in range(8)],
        "text": "héllo 😀 \"quoted\"\n",
        "big": 2**70,
    }
).encode()


def resident_kilobytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def rss_growth_kilobytes(work, iterations: int) -> int:
    for _ in range(2000):
        work()
    gc.collect()
    before = resident_kilobytes()
    for _ in range(iterations):
        work()
    gc.collect()
    return resident_kilobytes() - before


def test_decode_and_encode_100000_times_do_not_grow_memory() -> None:
    def decode_then_encode() -> None:
        encode_json(decode_json(EVENT))

    assert rss_growth_kilobytes(decode_then_encode, 100_000) < 1024


def test_error_paths_do_not_grow_memory() -> None:
    bad_documents = [EVENT[:-1], EVENT + b"x", EVENT.replace(b"POST", b"\xffOST"), b"[" * 20_000, b"1" * 5000]
    bad_values = [{"a": [1, 2, {3}]}, {"k": [decimal.Decimal("1.5"), object()]}, [b"\xff"]]

    def fail_everywhere() -> None:
        for document in bad_documents:
            with pytest.raises(JSONDecodeError):
                decode_json(document)
        for value in bad_values:
            with pytest.raises(JSONEncodeError):
                encode_json(value)

    assert rss_growth_kilobytes(fail_everywhere, 5_000) < 1024
