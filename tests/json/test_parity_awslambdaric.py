"""Parity with awslambdaric's LambdaMarshaller, the reference the codec replaces: same
meaning for every result it can encode, same messages for what it cannot, same messages for
events it cannot decode. Compact separators are the one deliberate difference."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import json
import math

import pytest
from awslambdaric.lambda_runtime_exception import FaultException
from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

from lamina._core import JSONDecodeError, JSONEncodeError, decode_json, encode_json


@pytest.fixture
def marshaller(monkeypatch: pytest.MonkeyPatch) -> LambdaMarshaller:
    # awslambdaric writes non-ASCII as UTF-8 only on python3.12+ runtimes, which lamina matches.
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    return LambdaMarshaller()


def same_meaning(left: object, right: object) -> bool:
    """Equality that treats NaN as equal to NaN and tells -0.0 from 0.0."""
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_meaning, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return list(left) == list(right) and all(same_meaning(left[key], right[key]) for key in left)
    return type(left) is type(right) and left == right


class Color(enum.IntEnum):
    RED = 1


class Flags(enum.IntFlag):
    A = 1
    B = 4


class Name(str, enum.Enum):
    ADA = "ada"


Point = collections.namedtuple("Point", "x y")

RESULTS = {
    "event-shaped dict": {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok": true}'},
    "scalars": [None, True, False, 0, -1, 2**70, 1.0, 0.1, 1e16, 1e-05, -0.0, 5e-324],
    "non-finite floats": [float("nan"), float("inf"), float("-inf")],
    "strings": ["", "plain", "é日本😀", "\x00\x1f\x7f\u2028", 'q"b\\s/'],
    "decimals": [decimal.Decimal("1.10"), decimal.Decimal("-0"), decimal.Decimal("1E+2"), decimal.Decimal("3.14159265358979323846264338327950288")],
    "nan decimals": [decimal.Decimal("NaN"), decimal.Decimal("sNaN"), decimal.Decimal("-NaN")],
    "infinite decimals": [decimal.Decimal("Infinity"), decimal.Decimal("-Infinity")],
    "namedtuple": Point(1, [Point(2, 3)]),
    "enums": [Color.RED, Flags.A | Flags.B, Name.ADA],
    "enum keys": {Color.RED: "red", Name.ADA: "ada"},
    "nested bytes": [b"abc", {"k": b"\xc3\xa9"}],
    "bytes key": {b"k": 1},
    "converted keys": {1: "int", 2.5: "float", True: "bool", None: "none", float("inf"): "inf"},
    "tuples": (1, (2, 3), []),
    "ordered dict": collections.OrderedDict([("z", 1), ("a", 2)]),
    "deep-ish": [[[[[[{"a": [[[1]]]}]]]]]],
}


@pytest.mark.parametrize("result", RESULTS.values(), ids=RESULTS.keys())
def test_results_encode_to_the_same_json_as_awslambdaric(marshaller: LambdaMarshaller, result: object) -> None:
    reference, content_type = marshaller.marshal_response(result)
    assert content_type == "application/json"
    ours = encode_json(result)
    assert same_meaning(json.loads(ours), json.loads(reference))
    # The one deliberate difference: no space after ',' and ':'.
    assert json.dumps(json.loads(ours), separators=(",", ":"), ensure_ascii=False) == json.dumps(
        json.loads(reference), separators=(",", ":"), ensure_ascii=False
    )


def test_results_without_separators_to_drop_are_byte_identical(marshaller: LambdaMarshaller) -> None:
    for result in ["é日本😀\n", 1e16, decimal.Decimal("1.10"), float("nan"), 2**70, None]:
        assert encode_json(result) == marshaller.marshal_response(result)[0].encode()


class Unserializable:
    pass


class FailingAttribute:
    def __getattr__(self, name: str):
        raise RuntimeError("attribute lookup failed")


class WrongAsdict:
    def _asdict(self):
        return ["not", "a", "dict"]


def _circular() -> list:
    looping: list = []
    looping.append({"again": looping})
    return looping


FAILING_RESULTS = {
    "set": {1, 2},
    "datetime": {"when": datetime.datetime(2024, 1, 1)},
    "custom object": [Unserializable()],
    "tuple key": {(1, 2): "value"},
    "decimal key": {decimal.Decimal("1"): "value"},
    "circular": _circular(),
    "invalid nested bytes": [b"\xff\xfe"],
    "failing __getattr__": [FailingAttribute()],
    "_asdict returning a list": WrongAsdict(),
    "int over the digit limit": [10**5000],
}


@pytest.mark.parametrize("result", FAILING_RESULTS.values(), ids=FAILING_RESULTS.keys())
def test_unserializable_results_fail_with_awslambdarics_message(marshaller: LambdaMarshaller, result: object) -> None:
    with pytest.raises(FaultException) as reference:
        marshaller.marshal_response(result)
    with pytest.raises(JSONEncodeError) as ours:
        encode_json(result)
    assert reference.value.msg == f"Unable to marshal response: {ours.value}"


EVENTS = [b'{"a": 1}', b'\xef\xbb\xbf{"a": [1.5, "\xc3\xa9"]}', b'"\\ud800"', b"-0", b"1e400", b'{"a": 1, "a": 2}']
BAD_EVENTS = [b"", b"{", b"[1,]", b'{"a": NaN}', b"Infinity", b"\xff", b'"\xed\xa0\x80"', b'"\x01"', b"[1] x", b"01", b"1" * 4301]


@pytest.mark.parametrize("event", EVENTS)
def test_events_decode_to_the_same_values_as_awslambdaric(marshaller: LambdaMarshaller, event: bytes) -> None:
    assert same_meaning(decode_json(event), marshaller.unmarshal_request(event))


@pytest.mark.parametrize("event", BAD_EVENTS)
def test_bad_events_fail_with_awslambdarics_message(marshaller: LambdaMarshaller, event: bytes) -> None:
    with pytest.raises(FaultException) as reference:
        marshaller.unmarshal_request(event)
    with pytest.raises(JSONDecodeError) as ours:
        decode_json(event)
    assert reference.value.msg == f"Unable to unmarshal input: {ours.value}"
