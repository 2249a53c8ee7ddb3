"""runtime.md section 1: the Runtime API client as a real runtime process uses it."""

import json
import time

from runtime_process import reply_json

from lamina.testing.runtime_api import ScriptedInvocation

AREA_EVENT = b'{"length":6,"width":7}'


def test_one_keep_alive_connection_serves_many_invocations(api, start_runtime):
    runtime = start_runtime("app.area")
    for _ in range(20):
        assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}
    assert api.connection_count == 1


def test_reconnects_when_lambda_closed_the_idle_connection(api, start_runtime):
    runtime = start_runtime("app.area")
    first = runtime.invoke(ScriptedInvocation(event=AREA_EVENT, close_after_answer=True))
    second = runtime.invoke(AREA_EVENT)
    assert reply_json(first) == reply_json(second) == {"area": 42}
    assert first.connection_id != second.connection_id


def test_response_is_posted_to_the_invocation_path_as_json(api, start_runtime):
    runtime = start_runtime("app.area")
    invocation = ScriptedInvocation(event=AREA_EVENT)
    reply = runtime.invoke(invocation)
    assert reply.path == f"/2018-06-01/runtime/invocation/{invocation.request_id}/response"
    assert reply.header("Content-Type") == "application/json"
    assert reply_json(reply) == {"area": 42}


def test_bytes_result_is_sent_verbatim_as_application_unknown(start_runtime):
    reply = start_runtime("app.returns_bytes").invoke(b"{}")
    assert reply.header("Content-Type") == "application/unknown"
    assert reply.body == b"\x00raw bytes\xff"


def test_chunked_event_body_is_read_whole(start_runtime):
    event = {"items": list(range(5000)), "text": "x" * 10000}
    reply = start_runtime("app.echo").invoke(ScriptedInvocation(event=json.dumps(event).encode(), chunked=True))
    assert reply_json(reply) == event


def test_header_names_are_read_case_insensitively(start_runtime):
    invocation = ScriptedInvocation(
        event=b"{}", lowercase_headers=True, tenant_id="tenant-7", deadline_ms=4102444800000
    )
    reply = start_runtime("app.context_fields").invoke(invocation)
    fields = reply_json(reply)
    assert reply.path.endswith(f"{invocation.request_id}/response")
    assert fields["aws_request_id"] == invocation.request_id
    assert fields["tenant_id"] == "tenant-7"
    assert fields["invoked_function_arn"] == invocation.invoked_function_arn
    assert fields["remaining_ms"] > 0


def test_invocation_id_is_echoed_on_response_and_error(start_runtime):
    runtime = start_runtime("app.echo")
    ok = runtime.invoke(ScriptedInvocation(event=b"{}", invocation_id="inv-1"))
    failed = runtime.invoke(ScriptedInvocation(event=b"[", invocation_id="inv-2"))
    without = runtime.invoke(ScriptedInvocation(event=b"{}"))
    assert ok.header("Lambda-Runtime-Invocation-Id") == "inv-1"
    assert failed.path.endswith("/error")
    assert failed.header("Lambda-Runtime-Invocation-Id") == "inv-2"
    assert without.header("Lambda-Runtime-Invocation-Id") is None


def test_trace_id_is_set_for_each_invocation_and_removed_without_header(start_runtime):
    runtime = start_runtime("app.environment")
    traced = reply_json(runtime.invoke(ScriptedInvocation(event=b"{}", trace_id="Root=1-abc")))
    untraced = reply_json(runtime.invoke(ScriptedInvocation(event=b"{}", trace_id=None)))
    assert traced["trace_id"] == "Root=1-abc"
    assert untraced["trace_id"] is None


def test_trace_id_reaches_os_environ_and_child_processes(start_runtime):
    runtime = start_runtime("app.trace_id_everywhere")
    long_id = "Root=1-" + "f" * 200
    for trace_id in ["Root=1-abc", None, long_id, "Root=1-short"]:
        fields = reply_json(runtime.invoke(ScriptedInvocation(event=b"{}", trace_id=trace_id)))
        expected = trace_id if trace_id is not None else None
        assert fields == {"os_environ": expected, "getenv": expected, "child": trace_id or "unset"}


def test_error_post_carries_error_type_header_and_xray_cause(start_runtime):
    invocation = ScriptedInvocation(event=b"{}")
    reply = start_runtime("app.raises_value_error").invoke(invocation)
    assert reply.path == f"/2018-06-01/runtime/invocation/{invocation.request_id}/error"
    assert reply.header("Lambda-Runtime-Function-Error-Type") == "ValueError"
    assert reply.header("Content-Type") == "application/json"
    body = reply_json(reply)
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["requestId"] == invocation.request_id
    cause = json.loads(reply.header("Lambda-Runtime-Function-XRay-Error-Cause"))
    assert cause["exceptions"][0]["type"] == "ValueError"
    assert cause["exceptions"][0]["stack"][-1]["label"] == "raises_value_error"
    assert cause["paths"][0].endswith("app.py")


def test_xray_cause_over_one_mebibyte_is_left_out(start_runtime):
    reply = start_runtime("app.raises_huge_message").invoke(b"{}")
    assert reply.header("Lambda-Runtime-Function-XRay-Error-Cause") is None
    assert reply.header("Lambda-Runtime-Function-Error-Type") == "ValueError"
    assert len(reply_json(reply)["errorMessage"]) == 1024 * 1024 + 10


def test_proxy_variables_are_ignored(start_runtime):
    runtime = start_runtime("app.area", env={"HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"})
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}


def test_gone_answer_is_logged_and_the_runtime_goes_on(start_runtime):
    runtime = start_runtime("app.area")
    runtime.invoke(ScriptedInvocation(event=AREA_EVENT, answer_status=410, answer_body=b'{"errorType":"Gone"}'))
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}
    assert "410" in runtime.stdout
    assert runtime.process.poll() is None


def test_payload_too_large_answer_is_logged_without_posting_an_error(api, start_runtime):
    runtime = start_runtime("app.area")
    too_large = ScriptedInvocation(
        event=AREA_EVENT,
        answer_status=413,
        answer_body=b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
        b'"errorType":"RequestEntityTooLarge"}',
    )
    runtime.invoke(too_large)
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}
    posts_for_first = [r for r in api.requests if r.request_id == too_large.request_id]
    assert [r.path.rsplit("/", 1)[1] for r in posts_for_first] == ["response"]
    assert "RequestEntityTooLarge" in runtime.stdout


def test_rejected_answers_400_and_403_are_logged_and_the_runtime_goes_on(start_runtime):
    runtime = start_runtime("app.area")
    runtime.invoke(ScriptedInvocation(event=AREA_EVENT, answer_status=400, answer_body=b'{"errorType":"InvalidRequestID"}'))
    runtime.invoke(ScriptedInvocation(event=b"[", answer_status=403, answer_body=b'{"errorType":"InvalidStateTransition"}'))
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}
    assert "InvalidRequestID" in runtime.stdout and "InvalidStateTransition" in runtime.stdout


def test_server_error_on_response_makes_the_runtime_exit_non_zero(start_runtime):
    runtime = start_runtime("app.area")
    runtime.invoke(ScriptedInvocation(event=AREA_EVENT, answer_status=500, answer_body=b"{}"))
    assert runtime.wait() != 0
    assert "500" in runtime.stderr


def test_server_error_on_next_makes_the_runtime_exit_non_zero_promptly(start_runtime):
    runtime = start_runtime("app.area")
    runtime.api.push(ScriptedInvocation(next_status=500, event=b'{"errorType":"Runtime.Unknown"}'))
    assert runtime.wait(timeout=5) != 0
    assert "500" in runtime.stderr


def test_next_waits_without_a_timeout(api, start_runtime):
    runtime = start_runtime("app.area")
    api.wait_for_path("/invocation/next")
    runtime.wait_for_output("app module imported")
    time.sleep(3)  # longer than any client timeout a runtime might default to
    assert runtime.process.poll() is None
    assert reply_json(runtime.invoke(AREA_EVENT)) == {"area": 42}
