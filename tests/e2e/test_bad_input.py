"""Bad input gets a clear error and loses nothing: broken Runtime API answers end the runtime
with a message (never a hang or a crash), broken events fail only their own invocation."""

import json

import pytest
from runtime_process import reply_json

from lamina.testing.runtime_api import ScriptedInvocation

AREA_EVENT = b'{"length":6,"width":7}'


@pytest.mark.parametrize(
    ("raw_answer", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nLambda-Runtime-Aws-Request-Id: r1\r\n\r\n{\"trunc", "truncated body"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "truncated head"),
        (b"HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n", "garbage header"),
        (b"SPDY/9 banana\r\n\r\n", "garbage status line"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Aws-Request-Id: r1\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", "no request id"),
    ],
)
def test_broken_next_answer_ends_the_runtime_with_a_clear_error(api, start_runtime, raw_answer, reason):
    runtime = start_runtime("app.echo")
    api.push(ScriptedInvocation(raw_next=raw_answer))
    assert runtime.wait(timeout=10) != 0, reason
    assert runtime.stderr.startswith("lamina: "), runtime.stderr
    assert "Traceback" not in runtime.stderr
    assert "Segmentation" not in runtime.stderr


def test_connection_closed_before_answering_next_is_retried_on_a_new_connection(api, start_runtime):
    runtime = start_runtime("app.area")
    api.push(ScriptedInvocation(raw_next=b""))  # Lambda closed the idle connection
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}


def test_runtime_api_gone_ends_the_runtime_with_a_clear_error(api, start_runtime):
    runtime = start_runtime("app.area")
    runtime.invoke(AREA_EVENT)
    api.close()
    assert runtime.wait(timeout=10) != 0
    assert runtime.stderr.startswith("lamina: ")


def test_six_megabyte_event_round_trips(start_runtime):
    event = {"blob": "x" * (6 * 1024 * 1024 - 100), "n": 1}
    reply = start_runtime("app.echo").invoke(json.dumps(event).encode(), timeout=30)
    assert reply_json(reply) == event


@pytest.mark.parametrize(
    ("event", "message_start"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "Unable to unmarshal input: "),
        (b'{"a": "\xff\xfe"}', "Unable to unmarshal input: 'utf-8' codec can't decode byte 0xff"),
        (b'{"a": "\xed\xa0\x80"}', "Unable to unmarshal input: 'utf-8' codec can't decode byte 0xed"),
        (b'{"a": 1', "Unable to unmarshal input: "),
    ],
    ids=["100000-deep", "invalid-utf8", "utf8-encoded-surrogate", "unterminated"],
)
def test_bad_event_fails_only_its_invocation(start_runtime, event, message_start):
    runtime = start_runtime("app.area")
    body = reply_json(runtime.invoke(event))
    assert body["errorType"] == "Runtime.UnmarshalError"
    assert body["errorMessage"].startswith(message_start)
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}


def test_nesting_under_the_limit_round_trips(start_runtime):
    deep = b"[" * 5000 + b"]" * 5000
    assert start_runtime("app.echo").invoke(deep).body == deep


def test_result_nested_beyond_the_limit_is_a_marshal_error(start_runtime):
    runtime = start_runtime("app.deep_result")
    body = reply_json(runtime.invoke(b'{"depth": 100000}'))
    assert body["errorType"] == "Runtime.MarshalError"
    assert reply_json(runtime.invoke(b'{"depth": 3}')) == [[[[]]]]
