"""Vectorized handlers' decoding (codec.md "Vectorized handlers"): declared arrays read from the
JSON bytes into numpy arrays, with np.array(json.loads(...)) as the oracle, and every error
named by path, index and field."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lamina import Bool, Columns, Float32, Float64, Int32, Int64, Records, vectorized
from lamina._core import JSONDecodeError, decode_json, decode_json_with_arrays, encode_json

DTYPES = {"float64": Float64, "float32": Float32, "int64": Int64, "int32": Int32, "bool": Bool}


def plan_of(**arrays):
    return vectorized(**arrays)(lambda event, context, **_: None).numeric_arrays


def decode(document: str | bytes, **arrays):
    return decode_json_with_arrays(document, plan_of(**arrays))


def decode_error(document: str | bytes, **arrays) -> str:
    with pytest.raises(JSONDecodeError) as rejected:
        decode(document, **arrays)
    return str(rejected.value)


def assert_same_array(actual: np.ndarray, expected: np.ndarray) -> None:
    assert type(actual) is np.ndarray
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()  # bit for bit: -0.0, rounding


# --- 1-D arrays against np.array(json.loads(...)) ------------------------------------------

JSON_NUMBER = st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?", fullmatch=True)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(numbers=st.lists(JSON_NUMBER, max_size=40), dtype=st.sampled_from(["float64", "float32"]))
def test_float_arrays_are_correctly_rounded_like_json_loads_then_numpy(numbers, dtype):
    document = '{"values": [' + ",".join(numbers) + "]}"
    expected = np.array(json.loads(document)["values"], dtype=dtype)
    assume(np.all(np.isfinite(expected)) or dtype == "float64")  # float32 overflow warns in numpy
    event = decode(document, values=DTYPES[dtype]["values"])
    assert_same_array(event["values"], expected)


@settings(max_examples=200)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=50))
def test_python_floats_round_trip_exactly(values):
    event = decode(json.dumps({"values": values}), values=Float64["values"])
    assert_same_array(event["values"], np.array(values, dtype=np.float64))


@settings(max_examples=200)
@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50), dtype=st.sampled_from(["int64", "int32"]))
def test_integer_arrays_like_numpy(values, dtype):
    document = json.dumps({"values": values})
    info = np.iinfo(dtype)
    if all(info.min <= value <= info.max for value in values):
        assert_same_array(decode(document, values=DTYPES[dtype]["values"])["values"], np.array(values, dtype=dtype))
    else:
        index = next(i for i, value in enumerate(values) if not info.min <= value <= info.max)
        assert decode_error(document, values=DTYPES[dtype]["values"]) == (
            f'event["values"][{index}] is {values[index]}, out of range for {dtype}'
        )


@given(values=st.lists(st.booleans(), max_size=50))
def test_bool_arrays(values):
    assert_same_array(decode(json.dumps({"values": values}), values=Bool["values"])["values"], np.array(values, dtype=bool))


@given(
    values=st.lists(st.floats(-1e6, 1e6), max_size=20),
    spacing=st.lists(st.sampled_from(["", " ", "\n", "\t", "\r\n  "]), min_size=4, max_size=4),
)
def test_whitespace_anywhere_in_the_array(values, spacing):
    a, b, c, d = spacing
    document = f'{{"values":{a}[{b}' + f"{c},{d}".join(repr(v) for v in values) + f"{b}]{a}}}"
    assert_same_array(decode(document, values=Float64["values"])["values"], np.array(values, dtype=np.float64))


def test_the_event_keeps_everything_else_and_holds_the_array_itself():
    document = '{"id": "x-1", "values": [1.5, 2.5], "meta": {"tags": ["a", "b"], "n": null}, "z": [1, 2]}'
    event = decode(document, values=Float64["values"])
    expected = json.loads(document)
    del expected["values"]
    values = event.pop("values")
    assert event == expected
    assert list(event) == ["id", "meta", "z"]
    assert_same_array(values, np.array([1.5, 2.5]))


def test_arrays_are_writable_and_own_their_memory():
    values = decode('{"values": [1, 2, 3]}', values=Float64["values"])["values"]
    values -= values.mean()
    assert values.tolist() == [-1.0, 0.0, 1.0]
    assert values.flags.c_contiguous and values.flags.aligned


def test_nested_paths_several_arrays_and_escaped_keys():
    document = '{"body": {"x": [1, 2], "w\\u0065ights": [0.5, 0.25]}, "flags": [true, false]}'
    event = decode(document, x=Int32["body", "x"], weights=Float32["body", "weights"], flags=Bool["flags"])
    assert_same_array(event["body"]["x"], np.array([1, 2], dtype=np.int32))
    assert_same_array(event["body"]["weights"], np.array([0.5, 0.25], dtype=np.float32))
    assert_same_array(event["flags"], np.array([True, False]))


def test_the_event_itself_can_be_the_array():
    assert_same_array(decode(" [1, 2.5] ", values=Float64[()]), np.array([1, 2.5]))
    assert decode_error("[1] 2", values=Float64[()]).startswith("Extra data")


def test_empty_arrays():
    assert_same_array(decode('{"v": []}', v=Float64["v"])["v"], np.zeros(0))
    assert_same_array(decode('{"v": [[], []]}', v=Int64["v"])["v"], np.zeros((2, 0), dtype=np.int64))
    assert_same_array(decode('{"v": []}', v=Float64["v"](ndim=2))["v"], np.zeros((0, 0)))


def test_repeated_keys_take_the_last_as_json_loads_does():
    assert decode('{"v": ["x"], "v": [2]}', v=Float64["v"])["v"].tolist() == [2.0]
    assert decode_error('{"v": [2], "v": ["x"]}', v=Float64["v"]) == 'event["v"][0] is a string, expected a float64 number'
    assert decode('{"a": {"v": "x"}, "a": {"v": [3]}}', v=Float64["a", "v"])["a"]["v"].tolist() == [3.0]


def test_byte_order_mark_is_skipped():
    assert decode(b'\xef\xbb\xbf{"v": [1]}', v=Float64["v"])["v"].tolist() == [1.0]


def test_huge_integers_for_floats_are_out_of_range_as_float_makes_them():
    digits = "9" * 400
    assert decode_error(f'{{"v": [{digits}]}}', v=Float64["v"]) == f'event["v"][0] is {"9" * 40}..., out of range for float64'
    assert decode('{"v": [1e400, -1e400, 1e-400]}', v=Float64["v"])["v"].tolist() == [math.inf, -math.inf, 0.0]


# --- 2-D and deeper -------------------------------------------------------------------------


@given(rows=st.integers(0, 6), columns=st.integers(0, 6), dtype=st.sampled_from(sorted(DTYPES)), data=st.data())
def test_nested_arrays_of_equal_length_are_2d(rows, columns, dtype, data):
    elements = st.booleans() if dtype == "bool" else st.integers(-1000, 1000)
    matrix = [[data.draw(elements) for _ in range(columns)] for _ in range(rows)]
    event = decode(json.dumps({"m": matrix}), m=DTYPES[dtype]["m"](ndim=2))
    expected = np.array(matrix, dtype=dtype).reshape(rows, columns if rows else 0)  # [] has no row length
    assert_same_array(event["m"], expected)
    if rows:  # inferred from the nesting, as np.array infers it
        assert_same_array(decode(json.dumps({"m": matrix}), m=DTYPES[dtype]["m"])["m"], np.array(matrix, dtype=dtype))


def test_three_dimensions():
    cube = np.arange(24.0).reshape(2, 3, 4)
    assert_same_array(decode(json.dumps({"c": cube.tolist()}), c=Float64["c"])["c"], cube)


@pytest.mark.parametrize(
    ("document", "declared", "message"),
    [
        ('{"m": [[1, 2], [3]]}', Float64["m"], 'event["m"][1] has 1 element, expected 2 like event["m"][0]'),
        ('{"m": [[1, 2], [3, 4, 5]]}', Float64["m"], 'event["m"][1] has 3 elements, expected 2 like event["m"][0]'),
        ('{"m": [[1, 2], 3]}', Float64["m"], 'event["m"][1] is 3, expected an array like event["m"][0]'),
        ('{"m": [[1, 2], [3, [4]]]}', Float64["m"], 'event["m"][1][1] is an array, expected a float64 number'),
        ('{"m": [1, 2]}', Float64["m"](ndim=2), 'event["m"][0] is 1, expected an array (event["m"] is declared 2-dimensional)'),
        ('{"m": [[[1]], [[2], [3]]]}', Int64["m"], 'event["m"][1] has 2 elements, expected 1 like event["m"][0]'),
        ('{"m": [[1, 2], [3, "x"]]}', Int32["m"], 'event["m"][1][1] is a string, expected an int32 integer'),
    ],
)
def test_ragged_and_mixed_nesting_is_an_error_naming_the_row(document, declared, message):
    assert decode_error(document, m=declared) == message


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "declared", "message"),
    [
        ('{"other": 1}', Float64["values"], 'event["values"] is missing'),
        ('{"body": {}}', Float64["body", "values"], 'event["body"]["values"] is missing'),
        ('{"body": "text"}', Float64["body", "values"], 'event["body"] is a string, expected an object'),
        ('[1, 2]', Float64["values"], "event is an array, expected an object"),
        ('{"values": {"a": 1}}', Float64["values"], 'event["values"] is an object, expected an array of float64'),
        ('{"values": null}', Int32["values"], 'event["values"] is null, expected an array of int32'),
        ('{"values": 2.5}', Float64["values"], 'event["values"] is 2.5, expected an array of float64'),
        ('{"values": [1, "2"]}', Float64["values"], 'event["values"][1] is a string, expected a float64 number'),
        ('{"values": [1, null]}', Float32["values"], 'event["values"][1] is null, expected a float32 number'),
        ('{"values": [true]}', Float64["values"], 'event["values"][0] is true, expected a float64 number'),
        ('{"values": [{}]}', Float64["values"], 'event["values"][0] is an object, expected a float64 number'),
        ('{"values": [1, 2.5]}', Int64["values"], 'event["values"][1] is 2.5, expected an int64 integer'),
        ('{"values": [1e3]}', Int32["values"], 'event["values"][0] is 1e3, expected an int32 integer'),
        ('{"values": [1.0]}', Int32["values"], 'event["values"][0] is 1.0, expected an int32 integer'),
        ('{"values": [2147483648]}', Int32["values"], 'event["values"][0] is 2147483648, out of range for int32'),
        ('{"values": [-2147483649]}', Int32["values"], 'event["values"][0] is -2147483649, out of range for int32'),
        ('{"values": [9223372036854775808]}', Int64["values"], 'event["values"][0] is 9223372036854775808, out of range for int64'),
        ('{"values": [true, 1]}', Bool["values"], 'event["values"][1] is 1, expected true or false (bool)'),
        ('{"values": [false, null]}', Bool["values"], 'event["values"][1] is null, expected true or false (bool)'),
        ('{"a\\"b": [1, "x"]}', Float64['a"b'], 'event["a\\"b"][1] is a string, expected a float64 number'),
    ],
)
def test_wrong_shapes_and_types_are_named_by_path_and_index(document, declared, message):
    assert decode_error(document, values=declared) == message


def test_integer_range_edges_are_accepted():
    event = decode('{"a": [-2147483648, 2147483647], "b": [-9223372036854775808, 9223372036854775807]}', a=Int32["a"], b=Int64["b"])
    assert event["a"].tolist() == [-(2**31), 2**31 - 1]
    assert event["b"].tolist() == [-(2**63), 2**63 - 1]


INVALID_DOCUMENTS = [
    '{"values": [1, 2,]}',
    '{"values": [1 2]}',
    '{"values": [1.5x]}',
    '{"values": [01]}',
    '{"values": [NaN]}',
    '{"values": [-Infinity]}',
    '{"values": [1, , 2]}',
    '{"values": [1, 2}',
    '{"values": [1, 2]',
    '{"values": [1, 2]]',
    '{"values": [1, "a]}',
    '{"values": [1, "a"], "x": }',
    '{"values": [1, 2], "x": [1,]}',
    '{"x": [1,], "values": [1]}',
    '{"x": {"a" 1}, "values": [1]}',
    '{"values": [1, 2]} x',
    '{"values": [1, 2]}}',
    '{"values": [1, tru]}',
    '{"values": [[1], [2,]]}',
    '{"values": [1, 2], }',
    '{"values" [1]}',
    '{"values": [1], "values"}',
    '{"values": [1, -]}',
    '{"values": ["\\x"]}',
    '{"values": [1, "\x01"]}',
    '',
    '   ',
    '[',
    '{"values": [1, 2]',
    '{"values": [' + '[' * 20000 + ']' * 20000 + ']}',
]


@pytest.mark.parametrize("document", INVALID_DOCUMENTS)
def test_a_document_that_is_not_json_gets_decode_json_s_message(document):
    with pytest.raises(JSONDecodeError) as expected:
        decode_json(document)
    assert decode_error(document, values=Float64["values"]) == str(expected.value)


def test_invalid_utf8_gets_decode_json_s_message():
    document = b'{"values": [1], "s": "\xff"}'
    with pytest.raises(JSONDecodeError) as expected:
        decode_json(document)
    assert decode_error(document, values=Float64["values"]) == str(expected.value)


# --- arrays of records ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"price": st.floats(allow_nan=False, allow_infinity=False), "qty": st.integers(-(2**31), 2**31 - 1), "ok": st.booleans()},
            optional={"extra": JSON_VALUES, "note": st.text(), "qty2": JSON_VALUES},
        ),
        max_size=20,
    ),
    other=JSON_VALUES,
)
def test_records_become_one_column_per_field(records, other):
    document = json.dumps({"Records": records, "other": other}, ensure_ascii=False)
    event = decode(document, orders=Records["Records"](price=Float64, qty=Int32, ok=Bool))
    orders = event["Records"]
    assert type(orders) is Columns
    assert len(orders) == len(records)
    assert list(orders) == ["price", "qty", "ok"]
    assert_same_array(orders.price, np.array([r["price"] for r in records], dtype=np.float64).reshape(len(records)))
    assert_same_array(orders["qty"], np.array([r["qty"] for r in records], dtype=np.int32).reshape(len(records)))
    assert_same_array(orders.ok, np.array([r["ok"] for r in records], dtype=bool).reshape(len(records)))
    assert event["other"] == json.loads(json.dumps(other))


def test_record_fields_by_key_and_numpy_dtype_names():
    document = '{"Records": [{"unit-price": 1.5, "n": 2}, {"n": 3, "unit-price": 2}]}'
    orders = decode(document, orders=Records["Records"](unit_price=Float32["unit-price"], n=np.int64))["Records"]
    assert_same_array(orders.unit_price, np.array([1.5, 2], dtype=np.float32))
    assert_same_array(orders.n, np.array([2, 3], dtype=np.int64))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"Records": [{"price": 1, "qty": 2}, {"price": 1}]}', 'event["Records"][1] has no "qty" field'),
        ('{"Records": [{}]}', 'event["Records"][0] has no "price" field'),
        ('{"Records": [{"price": 1, "qty": 2}, 3]}', 'event["Records"][1] is 3, expected an object (a record)'),
        ('{"Records": [[1, 2]]}', 'event["Records"][0] is an array, expected an object (a record)'),
        ('{"Records": [{"price": "1.5", "qty": 2}]}', 'event["Records"][0]["price"] is a string, expected a float64 number'),
        ('{"Records": [{"price": 1, "qty": 2.5}]}', 'event["Records"][0]["qty"] is 2.5, expected an int32 integer'),
        ('{"Records": [{"price": 1, "qty": 3000000000}]}', 'event["Records"][0]["qty"] is 3000000000, out of range for int32'),
        ('{"Records": [{"price": null, "qty": 1}]}', 'event["Records"][0]["price"] is null, expected a float64 number'),
        ('{"Records": {"price": 1}}', 'event["Records"] is an object, expected an array of records'),
        ('{"records": []}', 'event["Records"] is missing'),
    ],
)
def test_record_errors_name_the_record_index_and_field(document, message):
    assert decode_error(document, orders=Records["Records"](price=Float64, qty=Int32)) == message


@pytest.mark.parametrize(
    "document",
    [
        '{"Records": [{"price": 1, "qty": 2, "x": [1,]}]}',
        '{"Records": [{"price": 1, "qty": 2, "x": {"a": tru}}]}',
        '{"Records": [{"price": 1, "qty": 2, "x": "\\q"}]}',
        '{"Records": [{"price": 1, "qty": 2, "x": 01}]}',
        '{"Records": [{"price": 1, "qty": 2,}]}',
        '{"Records": [{"price": 1, "qty": 2}, ]}',
        '{"Records": [{"price": 1 "qty": 2}]}',
        '{"Records": [{"price": 1, "qty": 2, "x": {"a": 1 "b": 2}}]}',
        '{"Records": [{"price": 1, "qty": 2, "x": [' + "[" * 20000 + "]" * 20000 + "]}]}",
    ],
)
def test_undeclared_record_fields_are_checked_as_json(document):
    with pytest.raises(JSONDecodeError) as expected:
        decode_json(document)
    assert decode_error(document, orders=Records["Records"](price=Float64, qty=Int32)) == str(expected.value)


def test_empty_array_of_records():
    orders = decode('{"Records": []}', orders=Records["Records"](price=Float64, qty=Int32))["Records"]
    assert len(orders) == 0 and orders.price.dtype == np.float64 and orders.qty.dtype == np.int32


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(event=st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5), values=st.lists(st.integers(-100, 100), max_size=10))
def test_any_valid_event_with_the_array_decodes_like_json_loads(event, values):
    event = dict(event, values=values)
    document = json.dumps(event, ensure_ascii=False)
    decoded = decode(document, values=Int64["values"])
    expected = json.loads(document)
    assert decoded.pop("values").tolist() == expected.pop("values")
    assert decoded == expected


# --- the Python API -------------------------------------------------------------------------


def test_a_vectorized_handler_reads_plain_events_by_the_same_rules():
    @vectorized(values=Float64["values"], orders=Records["Records"](price=Float64))
    def handler(event, context, values, orders):
        return event, values, orders

    event, values, orders = handler({"values": [1, 2], "Records": [{"price": 3}]}, None)
    assert event["values"] is values and event["Records"] is orders
    assert values.tolist() == [1.0, 2.0] and orders.price.tolist() == [3.0]
    with pytest.raises(JSONDecodeError, match=r'event\["values"\]\[0\] is a string'):
        handler({"values": ["x"], "Records": []}, None)


def test_a_vectorized_handler_passes_decoded_arrays_through():
    @vectorized(values=Float64["values"])
    def handler(event, context, values):
        return values

    values = np.array([1.0])
    assert handler({"values": values}, None) is values


def test_a_vectorized_handler_keeps_the_function_s_name_and_may_be_async():
    @vectorized(values=Float64["values"])
    async def handler(event, context, values):
        """Sums."""
        return values.sum()

    assert handler.__name__ == "handler" and handler.__doc__ == "Sums."
    import asyncio

    assert asyncio.run(handler({"values": [1, 2]}, None)) == 3.0


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: vectorized(), "declare at least one array"),
        (lambda: vectorized(event=Float64["x"]), "the handler's own argument"),
        (lambda: vectorized(values=[1]), r"expected Float64\[path\]"),
        (lambda: vectorized(orders=Records["Records"]), "declare the fields"),
        (lambda: Records["Records"](price=complex), "a declared dtype is one of"),
        (lambda: Records["Records"](price=Float64["a", "b"]), "give one key"),
        (lambda: Float64["x"](ndim=0), "ndim is 1 to 32"),
        (lambda: Float64[1], "a path is object keys"),
    ],
)
def test_declarations_are_checked_when_made(make, error):
    with pytest.raises((TypeError, ValueError), match=error):
        make()


@pytest.mark.parametrize(
    "arrays",
    [
        {"a": Float64["x"], "b": Float64["x", "y"]},
        {"a": Float64["x"], "b": Int32["x"]},
        {"a": Float64[()], "b": Int32["x"]},
    ],
)
def test_overlapping_paths_are_rejected_when_the_handler_is_made(arrays):
    with pytest.raises(ValueError, match="overlap"):
        vectorized(**arrays)(lambda event, context, **_: None)


def test_columns_behave_like_a_small_data_frame():
    columns = Columns({"price": np.array([1.0, 2.0]), "qty": np.array([3, 4])})
    assert len(columns) == 2 and list(columns) == ["price", "qty"] and "qty" in columns
    assert (columns.price * columns["qty"]).sum() == 11.0
    assert encode_json(columns) == b'{"price":[1.0,2.0],"qty":[3,4]}'
    with pytest.raises(AttributeError, match="no column 'nope'"):
        columns.nope
    with pytest.raises(ValueError, match="different lengths"):
        Columns({"a": np.zeros(1), "b": np.zeros(2)})


def test_declarations_have_readable_reprs():
    assert repr(Float64["values"]) == "Float64['values']"
    assert repr(Int32["a", "b"](ndim=2)) == "Int32['a', 'b'](ndim=2)"
    assert repr(Records["R"](price=Float64)) == "Records['R'](price=Float64)"


# --- no leaks -------------------------------------------------------------------------------


def test_decoding_arrays_and_failing_100000_times_do_not_grow_memory():
    import gc

    plan = plan_of(values=Float64["values"], orders=Records["Records"](price=Float64, qty=Int32))
    good = json.dumps({"values": [1.5] * 20, "Records": [{"price": 1, "qty": 2, "x": "y"}] * 5, "k": {"a": [1]}})
    shape_error = json.dumps({"values": [1.5, "x"], "Records": []})
    syntax_error = good[:-1]

    def work() -> None:
        encode_json(decode_json_with_arrays(good, plan))
        for bad in (shape_error, syntax_error):
            try:
                decode_json_with_arrays(bad, plan)
            except JSONDecodeError:
                pass

    def resident_kilobytes() -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    for _ in range(2000):
        work()
    gc.collect()
    before = resident_kilobytes()
    for _ in range(100_000):
        work()
    gc.collect()
    assert resident_kilobytes() - before < 1024
