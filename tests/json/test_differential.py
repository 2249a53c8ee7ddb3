"""The stdlib as oracle: decode_json against json.loads and encode_json against json.dumps
over generated documents and values (floats compared bit for bit)."""

from __future__ import annotations

import json
import math
import re
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from lamina._core import decode_json, encode_json


def canonical(value: object) -> object:
    """A comparable form that tells -0.0 from 0.0 and floats from ints."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, dict):
        return [(key, canonical(item)) for key, item in value.items()]
    return value


# Any code points, lone surrogates included; but not a high surrogate followed by a low one,
# which any JSON writer's escapes turn into one astral character when read back.
SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
TEXT = st.text(st.characters(codec="utf-8"), max_size=20) | st.text(max_size=8).filter(
    lambda text: not SURROGATE_PAIR.search(text)
)
FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40) | FINITE_FLOATS | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(TEXT, children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, ensure_ascii=st.booleans(), indent=st.sampled_from([None, 0, 2, "\t"]), compact=st.booleans())
def test_decoding_json_dumps_output_matches_json_loads(value, ensure_ascii, indent, compact) -> None:
    separators = (",", ":") if compact else None
    text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators)
    document = text.encode("utf-8", "surrogatepass") if not ensure_ascii else text.encode()
    try:
        document.decode("utf-8")
    except UnicodeDecodeError:
        return  # Raw surrogates: json.loads accepts them, simplejson and lamina reject them.
    assert canonical(decode_json(document)) == canonical(json.loads(document))


NUMBER_TEXT = st.builds(
    lambda sign, integer, fraction, exponent: f"{sign}{integer}{fraction}{exponent}",
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,25}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,25}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"[eE][-+]?[0-9]{1,3}", fullmatch=True)),
)


@settings(max_examples=1500, deadline=None)
@given(number=NUMBER_TEXT)
def test_numbers_decode_to_the_same_value_as_json_loads(number: str) -> None:
    assert canonical(decode_json(number.encode())) == canonical(json.loads(number))


@settings(max_examples=1500, deadline=None)
@given(bits=st.integers(min_value=0, max_value=2**64 - 1))
def test_every_float_bit_pattern_round_trips_through_repr(bits: int) -> None:
    number = struct.unpack("<d", struct.pack("<Q", bits))[0]
    encoded = encode_json(number)
    if math.isfinite(number):
        assert encoded == repr(number).encode()
        assert canonical(decode_json(encoded)) == canonical(number)
    else:
        assert encoded in (b"NaN", b"Infinity", b"-Infinity")


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_encoding_matches_compact_json_dumps(value) -> None:
    encoded = encode_json(value)
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        assert encoded == expected.encode("utf-8")
    except UnicodeEncodeError:
        pass  # Lone surrogates: lamina escapes them (checked below), json leaves them raw.
    assert canonical(json.loads(encoded)) == canonical(value)


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_encode_then_decode_round_trips(value) -> None:
    assert canonical(decode_json(encode_json(value))) == canonical(value)
