"""Rejections: everything json.loads rejects, plus NaN/Infinity and encoded surrogates, with
simplejson 4.3.0's message for the same input (what awslambdaric reports)."""

from __future__ import annotations

import json

import pytest
import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina._core import JSONDecodeError, decode_json


def simplejson_message(document: bytes) -> str:
    with pytest.raises((ValueError, UnicodeDecodeError)) as rejected:
        simplejson.loads(document)
    return str(rejected.value)


def assert_rejected_like_simplejson(document: bytes) -> str:
    expected = simplejson_message(document)
    with pytest.raises(JSONDecodeError) as rejected:
        decode_json(document)
    assert str(rejected.value) == expected
    return expected


INVALID_UTF8 = {
    "stray continuation byte": b'"\x80"',
    "lone lead byte at end": b'"abc\xc3',
    "truncated three-byte sequence": b'["\xe2\x82"]',
    "truncated four-byte sequence": b'"\xf0\x9f\x98"',
    "overlong two-byte slash": b'"\xc0\xaf"',
    "overlong three-byte": b'"\xe0\x80\xaf"',
    "overlong four-byte": b'"\xf0\x80\x80\xaf"',
    "encoded high surrogate": b'"\xed\xa0\x80"',
    "encoded low surrogate": b'"\xed\xbf\xbf"',
    "above U+10FFFF": b'"\xf4\x90\x80\x80"',
    "F5 lead byte": b'"\xf5\x80\x80\x80"',
    "FF byte": b"\xff",
    "invalid byte outside strings": b"[1, \xfe]",
    "invalid byte in a key": b'{"k\xff": 1}',
    "invalid byte after a syntax error": b"[1,,\xff]",
    "truncated BOM": b"\xef\xbb",
}


@pytest.mark.parametrize("document", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
def test_invalid_utf8_is_rejected_with_the_decode_message(document: bytes) -> None:
    message = assert_rejected_like_simplejson(document)
    assert message.startswith("'utf-8' codec can't decode")


@pytest.mark.parametrize("position", [0, 1, 7, 63, 64, 1000, 4095])
@pytest.mark.parametrize("bad_bytes", [b"\xff", b"\x80", b"\xed\xa0\x80", b"\xc3"], ids=["ff", "continuation", "surrogate", "truncated"])
def test_invalid_utf8_is_found_at_any_position(position: int, bad_bytes: bytes) -> None:
    text = b"[" + b'"' + b"a" * 5000 + b'"' + b"]"
    document = text[:position] + bad_bytes + text[position:]
    message = assert_rejected_like_simplejson(document)
    assert f"position {position}" in message


def test_invalid_utf8_wins_over_an_earlier_syntax_error() -> None:
    assert_rejected_like_simplejson(b"[1,] \xff")


SYNTAX_ERRORS = {
    # empty and whitespace-only input
    "empty": b"",
    "only whitespace": b" \t\n",
    "only a byte order mark": b"\xef\xbb\xbf",
    "two byte order marks": b"\xef\xbb\xbf\xef\xbb\xbf1",
    "byte order mark after whitespace": b" \xef\xbb\xbf1",
    # NaN and Infinity, which json.loads accepts but simplejson does not
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "NaN in an array": b"[1, NaN]",
    "Infinity as a value": b'{"a": Infinity}',
    # control characters inside strings
    "newline in a string": b'"a\nb"',
    "tab in a string": b'"a\tb"',
    "NUL in a string": b'"\x00"',
    "control character in a key": b'{"a\x01": 1}',
    "control character after non-ASCII": b'"\xc3\xa9\x1f"',
    "control character after an escape": b'"\\n\x02"',
    # escapes
    "unknown escape": b'"\\x"',
    "escaped single quote": b'"\\\'"',
    "escaped non-ASCII": b'"\\\xc3\xa9"',
    "short unicode escape": b'"\\u12"',
    "unicode escape at end": b'"\\u',
    "non-hex unicode escape": b'"\\uzzzz"',
    "bad low surrogate escape": b'"\\ud800\\uzzzz"',
    "short low surrogate escape": b'"\\ud800\\u12"',
    "short low surrogate escape with room": b'["\\ud800\\u12", 1]',
    "backslash at end": b'"abc\\',
    # unterminated input
    "unterminated string": b'"abc',
    "unterminated key": b'{"abc',
    "unterminated string after valid escape": b'"\\u1234',
    "unterminated array": b"[1, 2",
    "unterminated object": b'{"a": 1',
    "open bracket": b"[",
    "open brace": b"{",
    "open bracket and space": b"[ ",
    "object missing value": b'{"a":',
    "object missing colon": b'{"a"',
    "array after comma": b"[1,",
    "object after comma": b'{"a": 1,',
    # trailing commas
    "array trailing comma": b"[1,]",
    "array trailing comma and spaces": b"[1 , ]",
    "object trailing comma": b'{"a": 1,}',
    "object trailing comma and spaces": b'{"a": 1 , }',
    "empty array comma": b"[,]",
    "empty object comma": b"{,}",
    "double comma": b"[1,,2]",
    # numbers
    "leading zero": b"01",
    "leading zero in an array": b"[01]",
    "negative leading zero": b"-01",
    "lone minus": b"-",
    "minus in an array": b"[-]",
    "plus sign": b"+1",
    "leading dot": b".5",
    "trailing dot": b"1.",
    "trailing dot in an array": b"[1.]",
    "exponent without digits": b"1e",
    "exponent sign without digits": b"1e+",
    "dot before exponent": b"1.e5",
    "two dots": b"1.5.3",
    "hex": b"0x10",
    # literals
    "truncated true": b"tru",
    "truncated null": b"nul",
    "capitalised True": b"True",
    "literal with trailing letters": b"truex",
    "literal with trailing letters in an array": b"[true,falsex]",
    # delimiters
    "missing colon": b'{"a" 1}',
    "double colon": b'{"a"::1}',
    "missing comma in array": b"[1 2]",
    "missing comma in object": b'{"a":1 "b":2}',
    "unquoted key": b"{a: 1}",
    "number key": b"{1: 2}",
    "single-quoted string": b"'a'",
    "mismatched bracket": b"[1}",
    "mismatched brace": b'{"a": 1]',
    "colon in array": b"[1:2]",
    "closing bracket first": b"]",
    # trailing garbage
    "extra value": b"1 2",
    "extra bracket": b"[1]]",
    "extra brace": b'{"a":1}}',
    "garbage after value on a later line": b"[1]\n\n  x",
    "form feed is not whitespace": b"1\x0c",
    "non-breaking space is not whitespace": b"\xc2\xa01",
    "garbage after non-ASCII string": b'"\xc3\xa9\xc3\xa9" \xc3\xa9',
    # positions on later lines and after non-ASCII text
    "error on line three": b'\n[1\n,2,\n]',
    "escape error on line three": b'\n\n"\\q"',
    "error after multi-byte characters": '{"日本": "語", "x" 1}'.encode(),
    "error after an emoji key": '{"😀":1,}'.encode(),
    "error after a byte order mark": b"\xef\xbb\xbf[1,]",
}


@pytest.mark.parametrize("document", SYNTAX_ERRORS.values(), ids=SYNTAX_ERRORS.keys())
def test_malformed_input_is_rejected_with_simplejsons_message(document: bytes) -> None:
    assert_rejected_like_simplejson(document)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_literals_are_rejected_though_json_loads_accepts_them(literal: bytes) -> None:
    json.loads(literal)
    assert str(pytest.raises(JSONDecodeError, decode_json, literal).value) == (
        "Expecting value: line 1 column 1 (char 0)"
    )


def test_utf8_encoded_surrogates_are_rejected_though_json_loads_accepts_them() -> None:
    assert json.loads(b'"\xed\xa0\x80"') == "\ud800"
    assert_rejected_like_simplejson(b'"\xed\xa0\x80"')


@pytest.mark.parametrize("opening", [b"[", b'{"a":'], ids=["arrays", "objects"])
def test_nesting_beyond_the_limit_is_a_clean_error(opening: bytes) -> None:
    document = opening * 100_000
    with pytest.raises(JSONDecodeError, match="maximum recursion depth exceeded while decoding a JSON"):
        decode_json(document)
    closing = b"]" if opening == b"[" else b"}"
    with pytest.raises(JSONDecodeError, match="maximum recursion depth exceeded"):
        decode_json(opening * 10_001 + b"1" + closing * 10_001)


def test_python_errors_while_building_values_leave_no_error_set() -> None:
    # The int digit limit is a ValueError raised inside the codec; the next call must work.
    with pytest.raises(JSONDecodeError):
        decode_json(b"[" + b"7" * 5000 + b"]")
    assert decode_json(b"[1]") == [1]


# Mutations of valid documents: a structural byte removed, duplicated or replaced, a
# document cut short. Both libraries must agree on the value or the exact message.
JSON_BYTES = st.sampled_from(list(b'{}[]:,"\\ \t\nu0123456789eE.-+tfnral\x00\x1fNI') + [0xC3, 0xA9, 0xEF, 0xFF])
SEED_DOCUMENTS = [
    b'{"a":[1,2.5,"x\\u00e9\\ud83d\\ude00",true,false,null,{"b":-0}],"c":"\xc3\xa9","d":1e5}',
    b'[1, 2, {"k": "v\\n"}, [], {}]',
    b'"\\ud800\\udc00\\u0041"',
    b' {"key" : [ -1.5e-3 , 0 ] } ',
    b"\xef\xbb\xbf[1]",
    b'[\n1,\n2\n]',
]


def outcome(decode, document: bytes) -> tuple[str, str]:
    try:
        return "value", repr(decode(document))
    except (ValueError, UnicodeDecodeError) as error:
        return "error", str(error)


@settings(max_examples=3000, deadline=None)
@given(
    seed=st.sampled_from(SEED_DOCUMENTS),
    edits=st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["delete", "insert", "replace"]), JSON_BYTES), min_size=1, max_size=3),
    cut=st.one_of(st.none(), st.integers(0, 200)),
)
def test_mutated_documents_decode_or_fail_exactly_as_simplejson(seed: bytes, edits, cut) -> None:
    document = bytearray(seed)
    for position, operation, byte in edits:
        position = position % (len(document) + 1)
        if operation == "insert":
            document.insert(position, byte)
        elif document:
            position = min(position, len(document) - 1)
            if operation == "delete":
                del document[position]
            else:
                document[position] = byte
    if cut is not None:
        document = document[:cut]
    document = bytes(document)
    assert outcome(decode_json, document) == outcome(simplejson.loads, document)
