"""Vectorized handlers in a real runtime process (codec.md "Vectorized handlers"): arrays
decoded from the event bytes, numpy results encoded from their buffers, shape errors reported
as Runtime.UnmarshalError, and numpy left unimported for functions that do not use it."""

import json

import pytest
from runtime_process import reply_json

from lamina.testing.runtime_api import ScriptedInvocation


def test_a_float_array_reaches_the_handler_as_a_float64_ndarray(start_runtime):
    runtime = start_runtime("vectorized_app.total")
    reply = reply_json(runtime.invoke({"id": "a", "values": [1.5, 2.25, -3, 1e3]}))
    assert reply == {"sum": 1000.75, "count": 4, "dtype": "float64", "same_object": True, "others": ["id"]}


def test_many_invocations_reuse_the_runtime(start_runtime):
    runtime = start_runtime("vectorized_app.total")
    for size in (0, 1, 1000, 50_000, 3):
        values = [i * 0.5 for i in range(size)]
        assert reply_json(runtime.invoke({"values": values}, timeout=30))["sum"] == sum(values)


def test_a_2d_array_is_decoded_and_a_transposed_view_encoded(start_runtime):
    runtime = start_runtime("vectorized_app.transpose")
    reply = reply_json(runtime.invoke({"matrix": [[1, 2, 3], [4, 5, 6.5]]}))
    assert reply == {"transposed": [[1.0, 4.0], [2.0, 5.0], [3.0, 6.5]], "shape": [2, 3]}


def test_records_become_columns(start_runtime):
    runtime = start_runtime("vectorized_app.revenue")
    records = [
        {"price": 2.5, "qty": 4, "paid": True, "sku": "a"},
        {"price": 100, "qty": 1, "paid": False, "meta": {"x": [1]}},
        {"qty": 2, "paid": True, "price": 0.25},
    ]
    assert reply_json(runtime.invoke({"Records": records})) == {"revenue": 10.5, "records": 3}


def test_async_vectorized_handler(start_runtime):
    assert reply_json(start_runtime("vectorized_app.async_mean").invoke({"values": [1, 2, 6]})) == 3.0


def test_numpy_results_are_encoded_natively(start_runtime):
    reply = reply_json(start_runtime("vectorized_app.stats").invoke({"values": [0.5, 1.5, 1.75]}))
    assert reply == {"mean": 1.25, "histogram": [1, 2], "flags": [False, True, True]}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (b'{"values": [1, "2"]}', 'event["values"][1] is a string, expected a float64 number'),
        (b'{"other": []}', 'event["values"] is missing'),
        (b'{"values": {"a": 1}}', 'event["values"] is an object, expected an array of float64'),
        (b'{"values": [1, 2,]}', "Illegal trailing comma before end of array: line 1 column 17 (char 16)"),
    ],
)
def test_shape_errors_are_unmarshal_errors_naming_the_path(start_runtime, event, message):
    runtime = start_runtime("vectorized_app.total")
    invocation = ScriptedInvocation(event=event)
    reply = runtime.invoke(invocation)
    assert reply.path.endswith("/error")
    assert reply.header("Lambda-Runtime-Function-Error-Type") == "Runtime.UnmarshalError"
    body = reply_json(reply)
    assert body["errorType"] == "Runtime.UnmarshalError"
    assert body["errorMessage"] == "Unable to unmarshal input: " + message
    # The runtime serves the next invocation as usual.
    assert reply_json(runtime.invoke({"values": [2]}))["sum"] == 2.0


def test_a_record_missing_a_field_names_its_index(start_runtime):
    runtime = start_runtime("vectorized_app.revenue")
    body = reply_json(runtime.invoke({"Records": [{"price": 1, "qty": 1, "paid": True}, {"price": 1, "paid": True}]}))
    assert body["errorMessage"] == 'Unable to unmarshal input: event["Records"][1] has no "qty" field'


def test_the_same_handler_runs_under_awslambdaric(start_runtime):
    runtime = start_runtime("vectorized_app.revenue", runtime="awslambdaric")
    records = [{"price": 2.5, "qty": 4, "paid": True}, {"price": 1, "qty": 1, "paid": True}]
    assert reply_json(runtime.invoke({"Records": records})) == {"revenue": 11.0, "records": 2}


def test_a_function_without_numpy_does_not_import_it(start_runtime):
    reply = reply_json(start_runtime("no_numpy.handler").invoke(json.dumps({"values": [1.5]}).encode()))
    assert reply == {"numpy_loaded": False, "arrays_loaded": False}


def test_the_examples_run(start_runtime):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples" / "vectorized"
    runtime = start_runtime("app.revenue", env={"LAMBDA_TASK_ROOT": str(examples)})
    event = {"Records": [{"price": 2.5, "qty": 4, "sku": "a"}, {"price": 10, "qty": 1, "sku": "b"}]}
    assert reply_json(runtime.invoke(event)) == {"revenue": 20.0, "largest_line": 10.0, "lines": 2}
