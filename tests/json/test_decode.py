"""Decoding: what json.loads accepts, with the same values (codec.md "Decode")."""

from __future__ import annotations

import gc
import json
import math
import struct

import pytest

from lamina._core import JSONDecodeError, decode_json


def float_bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def test_objects_decode_to_dicts_in_document_order() -> None:
    result = decode_json(b'{"b": 1, "a": 2, "c": {"z": 0, "y": []}}')
    assert result == {"b": 1, "a": 2, "c": {"z": 0, "y": []}}
    assert list(result) == ["b", "a", "c"]
    assert list(result["c"]) == ["z", "y"]


def test_duplicate_keys_keep_first_position_and_last_value() -> None:
    document = b'{"a": 1, "b": 2, "a": 3}'
    result = decode_json(document)
    assert result == json.loads(document) == {"a": 3, "b": 2}
    assert list(result) == ["a", "b"]


def test_arrays_decode_to_lists() -> None:
    assert decode_json(b"[]") == []
    assert decode_json(b"[1, [2, [3, []]], {}]") == [1, [2, [3, []]], {}]
    assert type(decode_json(b"[1]")) is list


def test_literals_decode_to_python_singletons() -> None:
    assert decode_json(b"[true, false, null]") == [True, False, None]
    assert decode_json(b"true") is True
    assert decode_json(b"null") is None


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (rb'"\" \\ \/ \b \f \n \r \t"', '" \\ / \b \f \n \r \t'),
        (rb'"\u0000\u001f\u0041\u00e9\u20ac"', "\x00\x1fA\u00e9\u20ac"),
        (rb'"\uD83D\uDE00"', "\U0001f600"),
        (rb'"x\ud83d\ude00y"', "x\U0001f600y"),
    ],
)
def test_strings_decode_every_escape(document: bytes, expected: str) -> None:
    assert decode_json(document) == expected == json.loads(document)


@pytest.mark.parametrize(
    "document",
    [rb'"\ud800"', rb'"\udc00"', rb'"\ud800\ud800"', rb'"\udc00\ud800"', rb'"\ud83d\u0041"', rb'"\ud83d\n"', rb'"a\ud800b"'],
)
def test_lone_surrogate_escapes_stay_lone_surrogates(document: bytes) -> None:
    assert decode_json(document) == json.loads(document)


def test_non_ascii_strings_decode_from_utf8() -> None:
    text = "héllo wörld — 日本語 😀"
    assert decode_json(json.dumps(text, ensure_ascii=False).encode()) == text
    assert decode_json(json.dumps({text: [text]}, ensure_ascii=False).encode()) == {text: [text]}


@pytest.mark.parametrize(
    "document",
    [b"0", b"-0", b"7", b"-7", b"123456789012345678", b"1234567890123456789", b"-9223372036854775808",
     b"9223372036854775808", b"18446744073709551616", b"1" + b"0" * 400, b"-" + b"9" * 4300],
)
def test_integers_of_any_size_decode_to_int(document: bytes) -> None:
    result = decode_json(document)
    assert type(result) is int
    assert result == json.loads(document)


def test_negative_zero_integer_is_int_zero() -> None:
    result = decode_json(b"-0")
    assert type(result) is int and result == 0


def test_int_digit_limit_applies_as_in_json_loads() -> None:
    document = b"1" * 4301
    with pytest.raises(ValueError) as expected:
        json.loads(document)
    with pytest.raises(JSONDecodeError) as actual:
        decode_json(document)
    assert str(actual.value) == str(expected.value)
    assert "4300" in str(actual.value)


@pytest.mark.parametrize(
    "document",
    [b"0.0", b"-0.0", b"1.5", b"1e5", b"1E5", b"1e+5", b"1e-5", b"-1.25e-7", b"0.1", b"0.30000000000000004",
     b"1.7976931348623157e308", b"5e-324", b"2.2250738585072014e-308", b"2.2250738585072011e-308",
     b"9007199254740993e0", b"9007199254740993.0", b"1e22", b"1e23", b"123456789012345.678",
     b"0.000001", b"1" * 30 + b".5", b"1" + b"0" * 400 + b".0", b"0." + b"0" * 400 + b"1",
     b"1e400", b"-1e400", b"1e-400", b"-1e-400", b"1" * 5000 + b".5", b"1e99999999999999999999"],
)
def test_floats_decode_correctly_rounded(document: bytes) -> None:
    result = decode_json(document)
    expected = json.loads(document)
    assert type(result) is float
    assert float_bits(result) == float_bits(expected)


def test_negative_zero_float_keeps_its_sign() -> None:
    assert math.copysign(1.0, decode_json(b"-0.0")) == -1.0


def test_whitespace_around_tokens_is_accepted() -> None:
    document = b' \t\r\n{ "a" :\n[ 1 ,\t2 ] , "b":null }\r\n '
    assert decode_json(document) == json.loads(document)


def test_leading_byte_order_mark_is_skipped() -> None:
    assert decode_json(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}
    assert decode_json(b"\xef\xbb\xbf 1") == 1


@pytest.mark.parametrize(
    "wrap", [bytes, bytearray, memoryview, lambda data: data.decode("utf-8")], ids=["bytes", "bytearray", "memoryview", "str"]
)
def test_accepts_bytes_bytearray_memoryview_and_str(wrap) -> None:
    assert decode_json(wrap('{"a": ["é", 1.5]}'.encode())) == {"a": ["é", 1.5]}


def test_memoryview_slice_decodes_only_its_bytes() -> None:
    data = memoryview(b'xx[1, 2]yy')[2:8]
    assert decode_json(data) == [1, 2]


def test_non_contiguous_memoryview_is_rejected() -> None:
    with pytest.raises(BufferError):
        decode_json(memoryview(b"[1, 2, 3]")[::2])


@pytest.mark.parametrize("value", [None, 1, 1.5, ["[]"], object()])
def test_other_argument_types_raise_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        decode_json(value)


def test_identical_keys_in_one_document_are_one_str_object() -> None:
    result = decode_json(b'[{"name": 1, "k\\u00e9y": 2}, {"name": 3, "k\\u00e9y": 4}, {"name": 5}]')
    first_keys = list(result[0])
    second_keys = list(result[1])
    assert first_keys[0] is second_keys[0] is list(result[2])[0]
    assert first_keys[1] is second_keys[1]


def test_string_values_are_not_confused_with_cached_keys() -> None:
    result = decode_json(b'{"a": "a", "b": {"a": "b"}, "a\\u0041": "aA"}')
    assert result == {"a": "a", "b": {"a": "b"}, "aA": "aA"}


def test_nesting_at_the_maximum_depth_decodes() -> None:
    depth = 10_000
    result = decode_json(b"[" * depth + b"]" * depth)
    for _ in range(depth - 1):
        result = result[0]
    assert result == []


def test_decode_leaves_the_garbage_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    decode_json(b'[{"a": [1]}]')
    assert gc.isenabled()
    with pytest.raises(JSONDecodeError):
        decode_json(b'[{"a": [1]}')
    assert gc.isenabled()
    gc.disable()
    try:
        decode_json(b'[{"a": [1]}]')
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(JSONDecodeError, ValueError)


def test_str_input_with_lone_surrogates_is_rejected_as_it_has_no_utf8_form() -> None:
    with pytest.raises(JSONDecodeError, match="surrogates not allowed"):
        decode_json('"\ud800"')
