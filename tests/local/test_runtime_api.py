"""The Runtime API as the environment serves it, driven by scripted custom runtimes that
misbehave on purpose (runtimes/scripted_bootstrap.py logs each answer it gets)."""

from __future__ import annotations

import json
import re

from engine_helpers import body, invoke, local_lambda, log_lines, scripted_function


def answers(result_or_lines, call: str) -> list[tuple[int, str]]:
    """The (status, body) of each ``ANSWER <method> <call>`` line the scripted runtime logged."""
    lines = result_or_lines if isinstance(result_or_lines, list) else log_lines(result_or_lines)
    found = []
    for line in lines:
        match = re.match(rf"^ANSWER \w+ {re.escape(call)} (\d+) (.*)$", line)
        if match:
            found.append((int(match[1]), match[2]))
    return found


async def test_next_carries_lambda_headers(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "headers", timeout_seconds=3))
        result = await invoke(
            service, function, {}, client_context='{"custom":{"a":1}}', cognito_identity='{"cognitoIdentityId":"x"}',
            tenant_id="tenant-7",
        )
    headers = {k.lower(): v for k, v in body(result).items()}
    assert headers["lambda-runtime-aws-request-id"] == result.request_id
    assert headers["lambda-runtime-invoked-function-arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function.name}"
    assert re.match(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$", headers["lambda-runtime-trace-id"])
    assert headers["lambda-runtime-client-context"] == '{"custom":{"a":1}}'
    assert headers["lambda-runtime-cognito-identity"] == '{"cognitoIdentityId":"x"}'
    assert headers["lambda-runtime-aws-tenant-id"] == "tenant-7"
    assert re.match(r"^[0-9a-f-]{36}$", headers["lambda-runtime-invocation-id"])
    assert headers["content-length"] == "2"
    deadline = int(headers["lambda-runtime-deadline-ms"])
    import time

    assert 0 < deadline - time.time() * 1000 <= 3000
    assert result.content_type == "application/vnd.test+json"  # the runtime's Content-Type is kept


async def test_response_and_error_are_accepted_with_202(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        echo = service.put_function(scripted_function(tmp_path, "echo"))
        failing = service.put_function(scripted_function(tmp_path, "error"))
        answered = await invoke(service, echo, {"x": 1})
        failed = await invoke(service, failing)
    assert answers(answered, "response") == [(202, '{"status":"OK"}')]
    assert body(answered) == {"x": 1}
    assert answers(failed, "error") == [(202, '{"status":"OK"}')]
    assert failed.function_error == "Unhandled" and body(failed) == {"errorMessage": "bad", "errorType": "Custom"}
    assert failed.error_type == "Custom" and failed.status == "error"


async def test_second_answer_to_an_invocation_is_403_invalid_state_transition(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "answer_twice"))
        result = await invoke(service, function)
    assert body(result) == "first"
    responses = answers(result, "response")
    assert responses[0][0] == 202
    assert responses[1][0] == 403 and json.loads(responses[1][1])["errorType"] == "InvalidStateTransition"
    error = answers(result, "error")
    assert error[0][0] == 403 and json.loads(error[0][1])["errorType"] == "InvalidStateTransition"


async def test_unknown_request_id_is_400_invalid_request_id(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "unknown_id"))
        result = await invoke(service, function)
    assert answers(result, "response")[0] == (400, '{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}')
    assert body(result) == "right id"


async def test_response_mode_other_than_streaming_is_400(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "bad_mode"))
        result = await invoke(service, function)
    status, text = answers(result, "response")[0]
    assert status == 400 and json.loads(text)["errorType"] == "InvalidFunctionResponseMode"
    assert body(result) == "plain"


async def test_oversize_response_is_413_with_the_exact_body_and_error_after_it_is_403(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "oversize", timeout_seconds=10))
        result = await invoke(service, function)
    assert answers(result, "response") == [(
        413, '{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}'
    )]
    assert answers(result, "error")[0][0] == 403
    assert body(result)["errorType"] == "Function.ResponseSizeTooLarge"
    assert "(7000000 bytes)" in body(result)["errorMessage"]


async def test_init_error_body_is_what_the_caller_gets(tmp_path):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(scripted_function(tmp_path, "init_error"))
        result = await invoke(service, function)
    assert result.function_error == "Unhandled"
    assert body(result) == {"errorMessage": "cannot start", "errorType": "Custom.InitFailure", "stackTrace": []}
    assert answers(logs.texts(function.name), "error") == [(202, '{"status":"OK"}')] * 2
    reports = logs.matching(r"^INIT_REPORT", function.name)
    assert re.match(r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Custom.InitFailure$", reports[0])
    assert "\tPhase: invoke\tStatus: error\tError Type: Custom.InitFailure" in reports[1]


async def test_runtime_that_never_calls_next_times_out_its_init(tmp_path):
    async with local_lambda(tmp_path, init_timeout_seconds=0.5) as (service, logs):
        function = service.put_function(scripted_function(tmp_path, "never_next", timeout_seconds=1))
        result = await invoke(service, function)
    assert body(result) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
    }
    reports = logs.matching(r"^INIT_REPORT", function.name)
    assert re.match(r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: timeout$", reports[0])
    assert "\tPhase: invoke\tStatus: timeout" in reports[1]
    assert log_lines(result)[-1].endswith("\tStatus: timeout\t")


async def test_runtime_exiting_after_its_answer_keeps_the_answer_and_resets(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "exit_after_response"))
        result = await invoke(service, function)
        again = await invoke(service, function)
    assert body(result) == "answered" and result.function_error is None
    assert result.status == "failure" and result.error_type == "Runtime.ExitError"
    assert body(again) == "answered"
    assert not any(line.startswith("INIT_START") for line in log_lines(again))


async def test_missing_bootstrap_is_runtime_invalid_entrypoint(tmp_path):
    code = tmp_path / "empty"
    code.mkdir()
    from lamina.local.functions import FunctionConfig

    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(FunctionConfig("no-bootstrap", "x.y", code, runtime="provided.al2023"))
        result = await invoke(service, function)
    error = body(result)
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"].startswith(f"RequestId: {result.request_id} Error: Couldn't find valid bootstrap(s): [")
    assert re.match(
        r"^INIT_REPORT .*\tPhase: init\tStatus: error\tError Type: Runtime.InvalidEntrypoint$",
        logs.matching("^INIT_REPORT")[0],
    )


async def test_non_executable_bootstrap_is_runtime_invalid_entrypoint(tmp_path):
    function_dir = tmp_path / "not-executable"
    function_dir.mkdir()
    (function_dir / "bootstrap").write_text("#!/bin/sh\necho never\n")
    (function_dir / "bootstrap").chmod(0o644)
    from lamina.local.functions import FunctionConfig

    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(FunctionConfig("not-executable", "x.y", function_dir, runtime="provided.al2023"))
        result = await invoke(service, function)
    error = body(result)
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"] == (
        f"RequestId: {result.request_id} Error: fork/exec {function_dir / 'bootstrap'}: permission denied"
    )


async def test_internal_extension_may_not_take_shutdown_but_gets_invoke(tmp_path):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(scripted_function(tmp_path, "internal_extension"))
        result = await invoke(service, function, {"n": 1})
    lines = logs.texts(function.name)
    registers = answers(lines, "register")
    assert registers[0][0] == 403
    assert json.loads(registers[0][1]) == {
        "errorMessage": "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension", "errorType": "Extension.InvalidEventType",
    }
    assert registers[1][0] == 200
    assert json.loads(registers[1][1]) == {"functionName": function.name, "functionVersion": "$LATEST", "handler": "internal_extension"}
    invoke_events = [json.loads(line.split(" ", 2)[2]) for line in lines if line.startswith("INTERNAL EVENT ")]
    assert invoke_events[0]["eventType"] == "INVOKE" and invoke_events[0]["requestId"] == result.request_id
    assert body(result) == {"n": 1}


async def test_streamed_response_is_accepted_chunk_by_chunk(tmp_path):
    """Streaming to the caller is the next step; the Runtime API side already takes a chunked
    streaming response (chunk by chunk, no size limit of buffered responses)."""
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(scripted_function(tmp_path, "stream"))
        result = await invoke(service, function)
    assert answers(result, "response") == [(202, '{"status":"OK"}')]
    assert result.payload == b"first,second,third" and result.content_type == "text/plain"
