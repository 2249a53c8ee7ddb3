"""The same handlers and events through awslambdaric and lamina: results, error bodies and log
lines must agree (compared semantically: lamina's JSON is compact on purpose)."""

from __future__ import annotations

import json
import re

import pytest
from runtime_process import RuntimeProcess

from lamina.testing.runtime_api import ScriptedInvocation, ScriptedRuntimeApi

RUNTIMES = ("awslambdaric", "lamina")


def run_through(runtime: str, handler: str, events: list[bytes], env: dict | None = None):
    """Serves `events` to one runtime; returns (replies, stdout). Request ids are fixed so
    that both runtimes see identical invocations."""
    with ScriptedRuntimeApi() as api:
        process = RuntimeProcess(api, handler, runtime, env=env)
        try:
            replies = []
            for index, event in enumerate(events):
                invocation = ScriptedInvocation(event=event, request_id=f"request-{index}", deadline_ms=4102444800000)
                replies.append(api.wait_for_reply(api.push(invocation)))
            return replies, process.stdout
        finally:
            process.stop()


def run_both(handler: str, events: list[bytes], env: dict | None = None):
    return {runtime: run_through(runtime, handler, events, env) for runtime in RUNTIMES}


def same_json(left: bytes, right: bytes) -> bool:
    """Equal as JSON values, NaN included."""
    nan = "__nan__"
    return json.loads(left, parse_constant=lambda c: nan if c == "NaN" else c) == json.loads(
        right, parse_constant=lambda c: nan if c == "NaN" else c
    )


EVENTS = [
    b'{"length": 6, "width": 7}',
    b'{"text": "za\\u017c\\u00f3\\u0142\\u0107 g\\u0119\\u015bl\\u0105 ja\\u017a\\u0144 \\ud83d\\udc22", "n": -0.0, "e": 1e400}',
    b'[1, 2.5, 1e-7, 12345678901234567890123, true, false, null, {"nested": [[], {}]}]',
    b'"just a string"',
    b"3.141592653589793",
    b'{"duplicate": 1, "duplicate": 2}',
]


@pytest.mark.parametrize("handler", ["app.echo", "app.returns_mixed", "app.returns_none", "app.returns_bytes"])
def test_results_agree(handler):
    outcomes = run_both(handler, EVENTS)
    for theirs, ours in zip(outcomes["awslambdaric"][0], outcomes["lamina"][0]):
        assert theirs.path.rsplit("/", 1)[1] == ours.path.rsplit("/", 1)[1] == "response"
        assert theirs.header("Content-Type") == ours.header("Content-Type")
        if theirs.header("Content-Type") == "application/json":
            assert same_json(theirs.body, ours.body), (theirs.body, ours.body)
        else:
            assert theirs.body == ours.body


MALFORMED_EVENTS = [b"", b"{", b'{"a": 1,}', b"[1, 2", b"[01]", b'{"a" 1}', b"nul", b'"\x01"', b"[1] x", b"NaN"]


@pytest.mark.parametrize(
    ("handler", "events"),
    [
        ("app.raises_value_error", [b"{}"]),
        ("app.raises_custom", [b"{}"]),
        ("app.raises_key_error", [b"{}"]),
        ("app.returns_datetime", [b"{}"]),
        ("app.echo", MALFORMED_EVENTS),
    ],
)
def test_error_bodies_agree(handler, events):
    outcomes = run_both(handler, events)
    for theirs, ours in zip(outcomes["awslambdaric"][0], outcomes["lamina"][0]):
        assert theirs.path.endswith("/error") and ours.path.endswith("/error")
        assert json.loads(theirs.body) == json.loads(ours.body)


@pytest.mark.parametrize(
    "handler",
    ["nodot", "sys.handler", "no_such_module.handler", "imports_missing.handler", "app.missing", "broken_syntax.handler"],
)
def test_init_error_bodies_agree(handler):
    bodies = {}
    for runtime in RUNTIMES:
        with ScriptedRuntimeApi() as api:
            process = RuntimeProcess(api, handler, runtime)
            try:
                reply = api.wait_for_path("/runtime/init/error")
                bodies[runtime] = (reply.header("Lambda-Runtime-Function-Error-Type"), json.loads(reply.body))
                assert process.wait() == 1
            finally:
                process.stop()
    assert bodies["awslambdaric"] == bodies["lamina"]


def test_exception_at_import_agrees_on_type_message_and_user_frames():
    bodies = {}
    for runtime in RUNTIMES:
        with ScriptedRuntimeApi() as api:
            process = RuntimeProcess(api, "raises_at_import.handler", runtime)
            try:
                bodies[runtime] = json.loads(api.wait_for_path("/runtime/init/error").body)
            finally:
                process.stop()
    theirs, ours = bodies["awslambdaric"], bodies["lamina"]
    assert (theirs["errorType"], theirs["errorMessage"]) == (ours["errorType"], ours["errorMessage"])
    # awslambdaric keeps importlib's frames above the user's; lamina shows the user's only.
    user_frames = [frame for frame in theirs["stackTrace"] if "raises_at_import.py" in frame]
    assert ours["stackTrace"] == user_frames


def normalize_log(stdout: str) -> list[str]:
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", "<time>", stdout)
    text = re.sub(r'line \d+', "line <n>", text)
    return [line for line in text.split("\n") if line and "app module imported" not in line]


@pytest.mark.parametrize("env", [{}, {"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}])
def test_text_log_lines_agree(env):
    outcomes = run_both("app.logs", [b"{}"], env)
    assert normalize_log(outcomes["awslambdaric"][1]) == normalize_log(outcomes["lamina"][1])


def test_json_log_lines_agree():
    outcomes = run_both("app.logs", [b"{}"], {"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    records = {}
    for runtime, (_, stdout) in outcomes.items():
        records[runtime] = [json.loads(line) for line in normalize_log(stdout) if line.startswith("{")]
    assert records["awslambdaric"] == records["lamina"]


@pytest.mark.parametrize("env", [{}, {"AWS_LAMBDA_LOG_FORMAT": "JSON"}])
def test_uncaught_error_lines_agree(env):
    outcomes = run_both("app.raises_custom", [b"{}"], env)
    assert normalize_log(outcomes["awslambdaric"][1]) == normalize_log(outcomes["lamina"][1])


def test_context_fields_agree():
    invocation_headers = {
        "client_context": json.dumps({"client": {"app_title": "Shop"}, "custom": {"k": 1}, "env": {"e": 2}}),
        "cognito_identity": json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}),
        "tenant_id": "tenant-9",
    }
    results = {}
    for runtime in RUNTIMES:
        with ScriptedRuntimeApi() as api:
            process = RuntimeProcess(api, "app.context_fields", runtime)
            try:
                invocation = ScriptedInvocation(event=b"{}", request_id="request-0", deadline_ms=4102444800000, **invocation_headers)
                fields = json.loads(api.wait_for_reply(api.push(invocation)).body)
                fields.pop("remaining_ms")
                results[runtime] = fields
            finally:
                process.stop()
    assert results["awslambdaric"] == results["lamina"]
