"""Invocations end to end, each runtime-agnostic test with lamina (python3.12) and with
awslambdaric (provided.al2023): results, errors, the log lines, resets and suppressed inits."""

from __future__ import annotations

import json
import re

from lamina.local.functions import InvocationRequest

from engine_helpers import Runtime, body, invoke, local_lambda, log_lines

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
    r"(?:Init Duration: (?P<init>\d+\.\d{2}) ms\t)?(?P<status>Status: .*\t)?$"
)


async def test_a_response_comes_back_with_the_executed_version(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.echo"))
        result = await invoke(service, function, {"hello": "world"})
    assert body(result) == {"hello": "world"}
    assert result.function_error is None
    assert result.executed_version == "$LATEST"
    assert result.status == "success"


async def test_log_tail_runs_from_start_to_report_with_the_function_output(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.echo"))
        result = await invoke(service, function, {"n": 1})
    lines = log_lines(result)
    start = lines.index(f"START RequestId: {result.request_id} Version: $LATEST")
    assert any('echo got {"n": 1}' in line for line in lines[start:])
    assert lines[-2] == f"END RequestId: {result.request_id}"
    assert REPORT.match(lines[-1])
    assert all(line in logs.texts() for line in lines)  # the sink has every line too


async def test_report_line_has_init_duration_only_on_the_cold_start(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.echo", memory_mb=256))
        cold = await invoke(service, function)
        warm = await invoke(service, function)
    cold_report = REPORT.match(log_lines(cold)[-1])
    warm_report = REPORT.match(log_lines(warm)[-1])
    assert cold_report and warm_report
    assert cold_report["id"] == cold.request_id and cold_report["size"] == "256"
    assert cold_report["init"] is not None and warm_report["init"] is None
    assert cold_report["status"] is None and warm_report["status"] is None
    assert int(cold_report["billed"]) >= float(cold_report["duration"])
    assert cold.init_duration_ms is not None and warm.init_duration_ms is None
    assert len(logs.matching(r"^INIT_START Runtime Version: \S+\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$")) == 1


async def test_a_handler_exception_is_an_unhandled_function_error(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.raises"))
        result = await invoke(service, function)
        again = await invoke(service, function)
    error = body(result)
    assert result.function_error == "Unhandled"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"
    assert result.status == "error"
    assert "Status:" not in log_lines(result)[-1]  # the runtime handled it: no reset
    assert again.init_duration_ms is None  # same warm environment


async def test_malformed_event_is_reported_by_the_runtime(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.echo"))
        result = await invoke(service, function, b'{"not json')
    assert result.function_error == "Unhandled"
    assert body(result)["errorType"] == "Runtime.UnmarshalError"


async def test_timeout_fails_with_sandbox_timedout_and_report_status_timeout(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.sleep", timeout_seconds=1))
        result = await invoke(service, function, {"seconds": 30})
    assert result.function_error == "Unhandled"
    assert body(result) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
    }
    lines = log_lines(result)
    assert re.match(rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {result.request_id} Task timed out after 1.00 seconds$", lines[-3])
    assert lines[-2] == f"END RequestId: {result.request_id}"
    report = REPORT.match(lines[-1])
    assert report and report["status"] == "Status: timeout\t"
    assert result.status == "timeout"


async def test_after_a_timeout_the_environment_resets_and_the_next_init_is_suppressed(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.tmp_marker", timeout_seconds=1))
        timed_out = await invoke(service, function, {"seconds": 30, "marker": "before the reset"})
        after = await invoke(service, function, {"seconds": 0, "marker": "after the reset"})
    assert timed_out.status == "timeout"
    assert after.status == "success"
    after_lines = log_lines(after)
    assert not any(line.startswith("INIT_START") for line in after_lines)  # suppressed: no INIT_START
    assert REPORT.match(after_lines[-1])["init"] is None  # and no Init Duration
    assert after.init_duration_ms is None
    assert "app imported" in after_lines  # the init did run again, inside this invoke
    assert len(logs.matching(r"^INIT_START", function.name)) == 1


async def test_tmp_survives_a_reset(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.tmp_marker", timeout_seconds=1))
        await invoke(service, function, {"seconds": 30, "marker": "written before the timeout"})
        result = await invoke(service, function, {"marker": "second"})
    assert body(result)["previous"] == "written before the timeout"


async def test_runtime_exit_is_runtime_exit_error_and_resets(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.exits"))
        result = await invoke(service, function, {"status": 1})
        again = await invoke(service, function, {"status": 3})
    assert body(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 1",
    }
    assert result.status == "failure"
    assert log_lines(result)[-1].endswith("\tStatus: error\tError Type: Runtime.ExitError\t")
    assert body(again)["errorMessage"].endswith("exit status 3")
    assert not any(line.startswith("INIT_START") for line in log_lines(again))


async def test_runtime_killed_by_a_signal_says_signal_killed(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.killed"))
        result = await invoke(service, function)
    assert body(result)["errorMessage"] == f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed"


async def test_response_over_six_megabytes_fails_with_response_size_too_large(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.big_response", timeout_seconds=10))
        result = await invoke(service, function, {"size": 7_000_000})
        after = await invoke(service, service.put_function(runtime.function("app.echo")), {"still": "alive"})
    assert result.function_error == "Unhandled"
    error = body(result)
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert error["errorMessage"] == (
        "Response payload size (7000002 bytes) exceeded maximum allowed payload size (6291556 bytes)."
    )
    assert body(after) == {"still": "alive"}


async def test_init_failure_returns_the_runtime_init_error_and_is_retried_in_the_invoke(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.echo", environment={"FAIL_AT_IMPORT": "1"}))
        result = await invoke(service, function)
    error = body(result)
    assert result.function_error == "Unhandled"
    assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "failing at import, as asked"
    assert result.status == "failure" and result.error_type == "RuntimeError"
    init_reports = logs.matching(r"^INIT_REPORT", function.name)
    assert re.match(r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: RuntimeError$", init_reports[0])
    assert init_reports[1].startswith("INIT_REPORT Init Duration: ") and "\tPhase: invoke\tStatus: error" in init_reports[1]
    assert len(logs.matching(r"^app imported$", function.name)) == 2  # the init ran twice


async def test_init_slower_than_the_init_timeout_is_retried_with_the_function_timeout(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path, init_timeout_seconds=1.0) as (service, logs):
        function = service.put_function(
            runtime.function("app.echo", timeout_seconds=8, environment={"SLEEP_AT_IMPORT": "1.5"})
        )
        result = await invoke(service, function, {"eventually": True})
    assert body(result) == {"eventually": True}
    assert re.match(
        r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: timeout$",
        logs.matching(r"^INIT_REPORT", function.name)[0],
    )
    report = REPORT.match(log_lines(result)[-1])
    assert report and report["init"] is None and float(report["duration"]) >= 1500  # the retried init counts


async def test_client_context_and_trace_id_reach_the_context(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.context_info", timeout_seconds=5))
        trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        result = await invoke(
            service, function, {}, client_context=json.dumps({"custom": {"k": "v"}}), trace_id=trace,
            request_id="8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        )
    info = body(result)
    assert info["request_id"] == "8476a536-e9f4-11e8-9739-2dfe598c3fcd" == result.request_id
    assert info["arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function.name}"
    assert 0 < info["remaining_ms"] <= 5000
    assert info["client_context"] == {"k": "v"}
    assert info["trace"] == trace
    assert info["memory"] == "128"


async def test_qualified_invoke_passes_the_qualified_arn(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.context_info"))
        result = await service.invoke(f"{function.name}:$LATEST", None, InvocationRequest(b"{}"))
    assert body(result)["arn"].endswith(f":function:{function.name}:$LATEST")


async def test_log_tail_is_the_last_4_kb_of_the_invocation(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.prints_lines"))
        result = await invoke(service, function, {"lines": 2000})
    assert len(result.log_tail) == 4096
    assert result.log_tail.endswith(b"\t\n") and b"END RequestId: " in result.log_tail
    assert "line 1999" in log_lines(result)
    assert len(logs.matching(r"^line \d+$", function.name)) == 2000  # the sink gets every line


async def test_error_with_a_large_message_and_xray_cause_is_not_lost(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.raises"))
        result = await invoke(service, function, {"message": "m" * 300_000})
    assert result.function_error == "Unhandled"
    assert body(result)["errorMessage"] == "m" * 300_000


async def test_a_function_flooding_its_output_does_not_stall_the_service(tmp_path):
    async with local_lambda(tmp_path, log_sink=lambda line: None) as (service, _):
        flooding = service.put_function(Runtime("lamina").function("app.floods_output"))
        other = service.put_function(Runtime("lamina").function("app.echo"))
        result = await invoke(service, flooding)
        assert body(result) == "answered while flooding"
        assert body(await invoke(service, other, {"still": "served"})) == {"still": "served"}
