"""Encoding: awslambdaric's simplejson encoder's output, compact (codec.md "Encode")."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import json
import math

import pytest
import simplejson

from lamina._core import JSONEncodeError, encode_json


def encode_error(value: object) -> str:
    with pytest.raises(JSONEncodeError) as rejected:
        encode_json(value)
    return str(rejected.value)


def test_output_is_compact_utf8_bytes() -> None:
    result = encode_json({"a": [1, 2, {"b": None}], "c": "d"})
    assert type(result) is bytes
    assert result == b'{"a":[1,2,{"b":null}],"c":"d"}'


def test_literals() -> None:
    assert encode_json([None, True, False]) == b"[null,true,false]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('plain', b'"plain"'),
        ('quote " backslash \\ slash /', b'"quote \\" backslash \\\\ slash /"'),
        ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
        ("\x00\x01\x1f", b'"\\u0000\\u0001\\u001f"'),
        ("\x7f\u2028\u2029", "\"\x7f\u2028\u2029\"".encode()),
        ("héllo", '"héllo"'.encode()),
        ("ÿ\x80", '"ÿ\x80"'.encode()),
        ("€ 日本", '"€ 日本"'.encode()),
        ("😀", '"😀"'.encode()),
        ("é\n😀\"", '"é\\n😀\\""'.encode()),
    ],
)
def test_strings_escape_only_quote_backslash_and_control_characters(text: str, expected: bytes) -> None:
    assert encode_json(text) == expected
    assert encode_json(text) == json.dumps(text, ensure_ascii=False).encode()


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\ud83d\ude00", "é\udc80", "\U0001f600\ud800"])
def test_lone_surrogates_are_written_as_escapes(text: str) -> None:
    result = encode_json(text)
    result.decode("utf-8")  # Always valid UTF-8.
    assert "\\ud" in result.decode()
    assert json.loads(result) == json.loads(json.dumps(text))


def test_long_strings_of_every_width_encode() -> None:
    for character in ["a", "é", "€", "😀", "\n"]:
        text = character * 20_000 + "x"
        assert encode_json(text) == json.dumps(text, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, b"1.0"), (-1.0, b"-1.0"), (0.0, b"0.0"), (-0.0, b"-0.0"), (0.1, b"0.1"), (1e16, b"1e+16"),
        (1e15, b"1000000000000000.0"), (1e-05, b"1e-05"), (0.0001, b"0.0001"), (1.5e-7, b"1.5e-07"),
        (123456789012345678.0, b"1.2345678901234568e+17"), (5e-324, b"5e-324"),
        (1.7976931348623157e308, b"1.7976931348623157e+308"), (2.5e100, b"2.5e+100"), (1e22, b"1e+22"),
        (float("nan"), b"NaN"), (float("inf"), b"Infinity"), (float("-inf"), b"-Infinity"),
    ],
)
def test_floats_are_written_as_python_repr(value: float, expected: bytes) -> None:
    assert encode_json(value) == expected
    if math.isfinite(value):
        assert expected == repr(value).encode()


@pytest.mark.parametrize(
    "value", [0, 1, -1, 255, 256, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64, -(2**64), 10**4000]
)
def test_ints_of_any_size(value: int) -> None:
    assert encode_json(value) == str(value).encode()


def test_bools_are_not_written_as_ints() -> None:
    assert encode_json([True, 1, False, 0]) == b"[true,1,false,0]"


def test_int_digit_limit_becomes_an_encode_error() -> None:
    with pytest.raises(ValueError) as expected:
        str(10**5000)
    assert encode_error([10**5000]) == str(expected.value)


def test_dict_keys_are_converted_as_json_dumps_converts_them() -> None:
    value = {"s": 1, 2: 2, 1.5: 3, True: 4, None: 5, float("nan"): 6, float("inf"): 7, -0.0: 8, 10**20: 9}
    assert encode_json(value) == json.dumps(value, separators=(",", ":")).encode()


def test_bytes_keys_are_decoded_as_utf8() -> None:
    assert encode_json({b"k\xc3\xa9": 1}) == '{"ké":1}'.encode()


@pytest.mark.parametrize(
    ("key", "type_name"), [((1, 2), "tuple"), (frozenset(), "frozenset"), (decimal.Decimal("1"), "Decimal"), (object(), "object")]
)
def test_other_key_types_are_rejected_with_simplejsons_message(key: object, type_name: str) -> None:
    assert encode_error({key: 1}) == f"keys must be str, int, float, bool or None, not {type_name}"


def test_tuples_and_list_and_tuple_subclasses_are_arrays() -> None:
    class Items(list):
        pass

    class Pair(tuple):
        pass

    assert encode_json((1, (2, ()), Items([3]), Pair((4, 5)))) == b"[1,[2,[]],[3],[4,5]]"


def test_sequence_subclasses_are_iterated_as_simplejson_iterates_them() -> None:
    class Overriding(list):
        def __iter__(self):
            return iter(["from __iter__"])

    assert encode_json(Overriding([1, 2])) == b'["from __iter__"]'


def test_dict_subclasses_are_objects_through_their_items() -> None:
    class Overriding(dict):
        def items(self):
            return [("from", "items")]

    assert encode_json(collections.OrderedDict([("b", 1), ("a", 2)])) == b'{"b":1,"a":2}'
    assert encode_json(collections.defaultdict(list, a=[1])) == b'{"a":[1]}'
    assert encode_json(Overriding(x=1)) == b'{"from":"items"}'


def test_items_must_be_pairs() -> None:
    class BadItems(dict):
        def items(self):
            return [["a", 1]]

    assert encode_error(BadItems(a=1)) == "items must return 2-tuples"


def test_namedtuples_are_objects() -> None:
    Point = collections.namedtuple("Point", "x y")
    assert encode_json(Point(1, [2])) == b'{"x":1,"y":[2]}'
    assert encode_json([Point(1, 2), {"p": Point(3, 4)}]) == b'[{"x":1,"y":2},{"p":{"x":3,"y":4}}]'
    assert encode_json(collections.namedtuple("Empty", "")()) == b"{}"


def test_any_object_with_a_callable_asdict_is_an_object() -> None:
    class Record:
        def _asdict(self):
            return {"kind": "record"}

    class ListWithAsdict(list):
        def _asdict(self):
            return {"from": "_asdict"}

    class AsdictRaisesTypeError:
        def _asdict(self):
            raise TypeError("not applicable")

    class AsdictNotCallable:
        _asdict = 5

    class DictAsdictRaisesTypeError(dict):
        def _asdict(self):
            raise TypeError("not applicable")

    assert encode_json(Record()) == b'{"kind":"record"}'
    assert encode_json(ListWithAsdict([1])) == b'{"from":"_asdict"}'
    assert encode_json(DictAsdictRaisesTypeError(a=1)) == b'{"a":1}'
    assert encode_error(AsdictRaisesTypeError()) == "Object of type AsdictRaisesTypeError is not JSON serializable"
    assert encode_error(AsdictNotCallable()) == "Object of type AsdictNotCallable is not JSON serializable"


def test_asdict_must_return_a_dict() -> None:
    class Wrong:
        def _asdict(self):
            return [1]

    assert encode_error(Wrong()) == "_asdict() must return a dict, not list"


def test_decimals_are_written_as_their_str() -> None:
    values = [decimal.Decimal("1.10"), decimal.Decimal("1E+2"), decimal.Decimal("-0"), decimal.Decimal("0E-7"),
              decimal.Decimal("123456789012345678901234567890.123456789"), decimal.Decimal("Infinity"), decimal.Decimal("-Infinity")]
    assert encode_json(values) == b"[1.10,1E+2,-0,0E-7,123456789012345678901234567890.123456789,Infinity,-Infinity]"


def test_nan_decimals_are_written_as_nan() -> None:
    values = [decimal.Decimal("NaN"), decimal.Decimal("-NaN"), decimal.Decimal("sNaN"), decimal.Decimal("-sNaN")]
    assert encode_json(values) == b"[NaN,NaN,NaN,NaN]"


def test_decimal_subclasses_use_their_is_nan_and_str() -> None:
    class Shown(decimal.Decimal):
        def __str__(self) -> str:
            return "42"

    class NeverNaN(decimal.Decimal):
        def is_nan(self) -> bool:
            return True

    assert encode_json([Shown("1.5"), NeverNaN("1")]) == b"[42,NaN]"


def test_int_float_and_str_subclasses_are_written_as_their_base_type() -> None:
    class Color(enum.IntEnum):
        RED = 1

    class Permission(enum.IntFlag):
        READ = 1
        WRITE = 2

    class Name(str, enum.Enum):
        ADA = "ada"

    class Ratio(float):
        def __repr__(self) -> str:
            return "ignored"

    class Label(str):
        def __str__(self) -> str:
            return "ignored"

    class Count(int):
        def __repr__(self) -> str:
            return "ignored"

        __str__ = __repr__

    value = [Color.RED, Permission.READ | Permission.WRITE, Name.ADA, Ratio(1.5), Label("label"), Count(2**70)]
    assert encode_json(value) == b'[1,3,"ada",1.5,"label",1180591620717411303424]'
    assert encode_json({Color.RED: 1, Name.ADA: 2, Ratio(0.5): 3}) == b'{"1":1,"ada":2,"0.5":3}'


def test_nested_bytes_are_decoded_as_utf8_strings() -> None:
    assert encode_json([b"abc", {"k": b"\xc3\xa9\n"}]) == '["abc",{"k":"é\\n"}]'.encode()


def test_nested_bytes_that_are_not_utf8_are_rejected_with_the_decode_message() -> None:
    assert encode_error([b"\xff"]) == "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"


def test_simplejson_raw_json_is_written_verbatim() -> None:
    assert encode_json({"raw": simplejson.RawJSON('{"pre": [1, 2]}')}) == b'{"raw":{"pre": [1, 2]}}'


@pytest.mark.parametrize(
    ("value", "type_name"),
    [({1, 2}, "set"), (datetime.datetime(2024, 1, 1), "datetime"), (object(), "object"), (1j, "complex"),
     (bytearray(b"a"), "bytearray"), (range(3), "range"), ((x for x in []), "generator"), ({}.keys(), "dict_keys")],
)
def test_unserializable_objects_are_rejected_with_simplejsons_message(value: object, type_name: str) -> None:
    assert encode_error({"nested": [value]}) == f"Object of type {type_name} is not JSON serializable"


def test_circular_references_are_rejected() -> None:
    looping_list: list = []
    looping_list.append(looping_list)
    looping_dict: dict = {}
    looping_dict["self"] = {"inner": [looping_dict]}

    class SelfRecord:
        def _asdict(self):
            return {"me": self}

    for value in (looping_list, looping_dict, SelfRecord()):
        assert encode_error(value) == "Circular reference detected"


def test_shared_references_are_not_circular() -> None:
    shared = [1, 2]
    assert encode_json({"a": shared, "b": [shared, shared]}) == b'{"a":[1,2],"b":[[1,2],[1,2]]}'


def test_python_exceptions_while_encoding_become_encode_errors() -> None:
    class Exploding:
        def __getattr__(self, name: str):
            raise RuntimeError(f"no {name} here")

    class ExplodingAsdict:
        def _asdict(self):
            raise ValueError("cannot")

    assert encode_error([Exploding()]) == "no _asdict here"
    assert encode_error([ExplodingAsdict()]) == "cannot"
    assert encode_json([1]) == b"[1]"  # Nothing left set.


def test_nesting_at_the_maximum_depth_encodes() -> None:
    value: list = []
    for _ in range(10_000 - 1):
        value = [value]
    assert encode_json(value) == b"[" * 10_000 + b"]" * 10_000


def test_nesting_beyond_the_limit_is_a_clean_error() -> None:
    value: list = [1]
    for _ in range(100_000):
        value = [value]
    assert encode_error(value) == "maximum recursion depth exceeded while encoding a JSON object"
    nested: dict = {"leaf": 1}
    for _ in range(100_000):
        nested = {"a": nested}
    assert encode_error(nested) == "maximum recursion depth exceeded while encoding a JSON object"


def test_encoding_can_be_reentered_from_python_code_it_runs() -> None:
    from lamina import _core

    class Reentrant:
        def _asdict(self):
            return {"inner": _core.encode_json({"x": [1, 2]}).decode()}

    assert encode_json([Reentrant(), "after"]) == b'[{"inner":"{\\"x\\":[1,2]}"},"after"]'


def test_encode_error_is_a_value_error() -> None:
    assert issubclass(JSONEncodeError, ValueError)
