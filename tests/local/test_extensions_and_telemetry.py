"""External extensions (executables in the layers' extensions/) and the Telemetry API: the
recording extension (runtimes/extensions/recorder) registers for INVOKE and SHUTDOWN and
subscribes over HTTP and TCP; it writes what it receives into the test's directory."""

from __future__ import annotations

from engine_helpers import Runtime, body, extension_layer, invoke, local_lambda, read_jsonl, wait_for


def recorded(directory, kind, name="recorder"):
    return read_jsonl(directory / f"{name}.{kind}.jsonl")


async def test_extension_registers_and_receives_invoke_then_shutdown_on_spindown(tmp_path, runtime: Runtime):
    records = tmp_path / "records"
    records.mkdir()
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function(
            "app.echo", layers=(extension_layer(tmp_path),), environment={"RECORD_DIR": str(records)}
        ))
        result = await invoke(service, function, {"with": "extension"})
        assert body(result) == {"with": "extension"}
    register = recorded(records, "register")[0]
    assert register == {
        "status": 200, "body": {"functionName": function.name, "functionVersion": "$LATEST", "handler": "app.echo"},
    }
    events = recorded(records, "events")
    assert [e["eventType"] for e in events] == ["INVOKE", "SHUTDOWN"]
    invoke_event = events[0]
    assert list(invoke_event) == ["eventType", "deadlineMs", "requestId", "invokedFunctionArn", "tracing"]
    assert invoke_event["requestId"] == result.request_id
    assert invoke_event["invokedFunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function.name}"
    assert invoke_event["tracing"]["type"] == "X-Amzn-Trace-Id"
    assert events[1]["shutdownReason"] == "spindown" and list(events[1]) == ["eventType", "shutdownReason", "deadlineMs"]
    assert "[recorder] shutting down: spindown" in logs.texts(function.name)


async def test_extension_gets_shutdown_with_reason_timeout_when_the_function_times_out(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(Runtime("lamina").function(
            "app.sleep", timeout_seconds=1, layers=(extension_layer(tmp_path),), environment={"RECORD_DIR": str(records)},
        ))
        result = await invoke(service, function, {"seconds": 30})
        assert result.status == "timeout"
        await wait_for(lambda: any(e["eventType"] == "SHUTDOWN" for e in recorded(records, "events")))
        after = await invoke(service, function, {"seconds": 0})
        assert after.status == "success"
    shutdowns = [e for e in recorded(records, "events") if e["eventType"] == "SHUTDOWN"]
    assert [e["shutdownReason"] for e in shutdowns] == ["timeout", "spindown"]
    assert len(recorded(records, "register")) == 2  # re-registered in the suppressed init


async def test_telemetry_subscriber_receives_platform_report_over_http_and_tcp(tmp_path, runtime: Runtime):
    records = tmp_path / "records"
    records.mkdir()
    async with local_lambda(tmp_path) as (service, _):
        layer = extension_layer(tmp_path, names=("recorder-http", "recorder-tcp"))
        function = service.put_function(runtime.function(
            "app.echo", layers=(layer,), environment={"RECORD_DIR": str(records)}
        ))
        result = await invoke(service, function, {"telemetry": 1})
        for name, kind in (("recorder-http", "telemetry-http"), ("recorder-tcp", "telemetry-tcp")):
            await wait_for(lambda: any(e["type"] == "platform.report" for e in recorded(records, kind, name)))
    for name, kind in (("recorder-http", "telemetry-http"), ("recorder-tcp", "telemetry-tcp")):
        assert [s["status"] for s in recorded(records, "subscribe", name)] == [200]
        events = recorded(records, kind, name)
        types = [e["type"] for e in events]
        for expected in ("platform.initStart", "platform.extension", "platform.telemetrySubscription",
                         "platform.initRuntimeDone", "platform.initReport", "platform.start", "platform.runtimeDone",
                         "platform.report", "function"):
            assert expected in types, (name, expected, types)
        report = next(e for e in events if e["type"] == "platform.report")
        assert set(report) == {"time", "type", "record"}
        record = report["record"]
        assert record["requestId"] == result.request_id and record["status"] == "success"
        metrics = record["metrics"]
        assert metrics["maxMemoryUsedMB"] == result.max_memory_used_mb > 0
        assert metrics["memorySizeMB"] == 128 and metrics["billedDurationMs"] >= metrics["durationMs"]
        assert metrics["initDurationMs"] > 0
        assert any(e["type"] == "function" and "echo got" in str(e["record"]) for e in events)
        init_start = next(e for e in events if e["type"] == "platform.initStart")["record"]
        assert init_start["phase"] == "init" and init_start["initializationType"] == "on-demand"


async def test_extension_init_error_fails_the_init_with_its_error_type(tmp_path):
    layer = tmp_path / "bad-extension-layer"
    (layer / "extensions").mkdir(parents=True)
    script = layer / "extensions" / "broken"
    script.write_text("""#!/usr/bin/env python3
import http.client, json, os, sys
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
c = http.client.HTTPConnection(api)
c.request("POST", "/2020-01-01/extension/register", json.dumps({"events": ["INVOKE"]}), {"Lambda-Extension-Name": "broken"})
r = c.getresponse(); r.read(); identifier = r.getheader("Lambda-Extension-Identifier")
c.request("POST", "/2020-01-01/extension/init/error", b"", {"Lambda-Extension-Identifier": identifier,
          "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"})
r = c.getresponse(); print("init/error", r.status, r.read().decode(), flush=True)
sys.exit(1)
""")
    script.chmod(0o755)
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(Runtime("lamina").function("app.echo", layers=(layer,)))
        result = await invoke(service, function)
    assert result.function_error == "Unhandled"
    assert body(result)["errorType"] == "Extension.ConfigInvalid"
    assert 'init/error 202 {"status":"OK"}' in logs.texts(function.name)
    assert logs.matching(r"^INIT_REPORT .*\tPhase: init\tStatus: error\tError Type: Extension.ConfigInvalid$", function.name)


async def test_extension_that_crashes_during_init_fails_it_with_extension_crash(tmp_path):
    layer = tmp_path / "crashing-layer"
    (layer / "extensions").mkdir(parents=True)
    (layer / "extensions" / "crasher").write_text("#!/bin/sh\necho crashing\nexit 7\n")
    (layer / "extensions" / "crasher").chmod(0o755)
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(Runtime("lamina").function("app.echo", layers=(layer,)))
        result = await invoke(service, function)
    assert body(result)["errorType"] == "Extension.Crash"
    assert "exit status 7" in body(result)["errorMessage"]
    assert "crashing" in logs.texts(function.name)


async def test_runtime_gets_sigterm_at_spindown_only_when_an_extension_is_registered(tmp_path):
    """lamina's runtime lets SIGTERM reach Python handlers; Lambda sends it only when an
    extension registered (else it kills at once)."""
    with_extension, without = tmp_path / "with-extension", tmp_path / "without"
    records = tmp_path / "records"
    records.mkdir()
    async with local_lambda(tmp_path) as (service, _):
        for marker, layers in ((with_extension, (extension_layer(tmp_path),)), (without, ())):
            function = service.put_function(Runtime("lamina").function(
                "app.echo", layers=layers, environment={"SIGTERM_FILE": str(marker), "RECORD_DIR": str(records)},
            ))
            await invoke(service, function)
    assert with_extension.read_text() == "SIGTERM"
    assert not without.exists()


async def test_logs_api_subscriber_gets_start_end_report_and_function_lines(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(Runtime("lamina").function(
            "app.echo", layers=(extension_layer(tmp_path, names=("recorder-logs",)),),
            environment={"RECORD_DIR": str(records)},
        ))
        result = await invoke(service, function, {"logs": "api"})
        await wait_for(lambda: any(
            e["type"] == "platform.report" for e in recorded(records, "telemetry-http", "recorder-logs")
        ))
    assert recorded(records, "subscribe", "recorder-logs")[0]["status"] == 200
    events = recorded(records, "telemetry-http", "recorder-logs")
    by_type = {e["type"]: e["record"] for e in events}
    assert by_type["platform.logsSubscription"] == {"name": "recorder-logs", "state": "Subscribed", "types": ["platform", "function"]}
    assert by_type["platform.start"] == {"requestId": result.request_id, "version": "$LATEST"}
    assert by_type["platform.end"] == {"requestId": result.request_id}
    assert set(by_type["platform.report"]) == {"requestId", "metrics"}
    assert "platform.initStart" not in by_type and "platform.telemetrySubscription" not in by_type
    assert any(e["type"] == "function" and 'echo got {"logs": "api"}' in e["record"] for e in events)
