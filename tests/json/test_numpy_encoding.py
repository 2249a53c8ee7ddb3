"""Encoding numpy results (codec.md "Encode", numpy bullet): arrays and scalars written from
their buffers, byte for byte what json.dumps(value.tolist()) writes compactly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from lamina._core import JSONEncodeError, encode_json

NUMERIC_DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", ">f8", ">i4", "<u2",
]


def oracle(value) -> bytes:
    """What json.dumps writes for the Python values numpy's tolist() gives."""
    return json.dumps(value.tolist(), separators=(",", ":")).encode()


@settings(max_examples=300, deadline=None)
@given(
    array=npst.arrays(
        dtype=st.sampled_from(NUMERIC_DTYPES).map(np.dtype),
        shape=npst.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
    )
)
def test_arrays_of_every_numeric_dtype_and_shape_are_written_as_tolist_would(array):
    assert encode_json(array) == oracle(array)


@settings(max_examples=200, deadline=None)
@given(
    array=npst.arrays(dtype=st.sampled_from(["float64", "int32", "float32"]).map(np.dtype), shape=(5, 6)),
    rows=st.slices(5),
    columns=st.slices(6),
    transpose=st.booleans(),
)
def test_non_contiguous_arrays_follow_their_strides(array, rows, columns, transpose):
    view = array[rows, columns]
    view = view.T if transpose else view
    assert encode_json(view) == oracle(view)
    assert encode_json({"v": view}) == b'{"v":' + oracle(view) + b"}"


def test_special_floats_are_written_as_python_floats_are():
    values = np.array([np.nan, np.inf, -np.inf, -0.0, 0.1, 1e16, 1e-5, 5e-324, 1.7976931348623157e308])
    assert encode_json(values) == b"[NaN,Infinity,-Infinity,-0.0,0.1,1e+16,1e-05,5e-324,1.7976931348623157e+308]"


def test_float32_values_are_written_as_float_of_the_float32():
    values = np.array([0.1, 1 / 3, 3.4e38, 1e-45], dtype=np.float32)
    assert encode_json(values) == ("[" + ",".join(repr(float(v)) for v in values) + "]").encode()
    assert encode_json(np.float32(0.1)) == b"0.10000000149011612"


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        (np.float64(2.5), b"2.5"),
        (np.float32(2.5), b"2.5"),
        (np.float16(0.1), b"0.0999755859375"),
        (np.int64(-7), b"-7"),
        (np.int8(-128), b"-128"),
        (np.uint64(2**64 - 1), b"18446744073709551615"),
        (np.bool_(True), b"true"),
        (np.bool_(False), b"false"),
        (np.float64("nan"), b"NaN"),
        (np.str_("text"), b'"text"'),
    ],
)
def test_numpy_scalars_are_numbers_and_booleans(scalar, expected):
    assert encode_json(scalar) == expected
    assert encode_json({"k": [scalar]}) == b'{"k":[' + expected + b"]}"


def test_zero_dimensional_and_empty_arrays():
    assert encode_json(np.array(3.5)) == b"3.5"
    assert encode_json(np.zeros((0,))) == b"[]"
    assert encode_json(np.zeros((2, 0))) == b"[[],[]]"
    assert encode_json(np.zeros((0, 3))) == b"[]"


def test_results_mixing_arrays_and_python_values():
    result = {"mean": np.float64(1.5), "hist": np.array([1, 2]), "rows": [np.array([True]), None]}
    assert encode_json(result) == b'{"mean":1.5,"hist":[1,2],"rows":[[true],null]}'


def test_read_only_and_big_endian_arrays():
    values = np.arange(4, dtype=">i8")
    values.flags.writeable = False
    assert encode_json(values) == b"[0,1,2,3]"


def test_ndarray_subclasses_are_written_through_their_tolist():
    masked = np.ma.array([1, 2, 3], mask=[False, True, False])
    assert encode_json(masked) == b"[1,null,3]"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array(["a"]), "Object of type ndarray with dtype <U1 is not JSON serializable"),
        (np.array([1 + 2j]), "Object of type ndarray with dtype complex128 is not JSON serializable"),
        (np.array(["2026-01-01"], dtype="datetime64[D]"), "Object of type ndarray with dtype datetime64[D] is not JSON serializable"),
        (np.array([1], dtype="timedelta64[s]"), "Object of type ndarray with dtype timedelta64[s] is not JSON serializable"),
        (np.array([{}], dtype=object), "Object of type ndarray with dtype object is not JSON serializable"),
        (np.array([b"x"]), "Object of type ndarray with dtype |S1 is not JSON serializable"),
        (np.zeros(1, dtype=[("a", "f8")]), "Object of type ndarray with dtype [('a', '<f8')] is not JSON serializable"),
        (np.datetime64("2026-01-01"), "Object of type datetime64 is not JSON serializable"),
        (np.complex64(1), "Object of type complex64 is not JSON serializable"),
    ],
)
def test_other_dtypes_are_a_marshal_error_naming_the_dtype(value, message):
    with pytest.raises(JSONEncodeError) as rejected:
        encode_json({"result": value})
    assert str(rejected.value) == message


def test_encoding_never_imports_numpy():
    code = (
        "import sys, decimal; from lamina._core import encode_json\n"
        "class Custom: pass\n"
        "encode_json({'d': decimal.Decimal('1.5'), 'l': [1.5, True]})\n"
        "try: encode_json(Custom())\n"
        "except ValueError: pass\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
