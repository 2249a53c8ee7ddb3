"""runtime.md sections 3 (SIGTERM) and 6: SnapStart hooks, Managed Instances workers."""

import json
import signal
import time

from runtime_process import RuntimeProcess, reply_json

from lamina.testing.runtime_api import ScriptedRuntimeApi

SNAP_START = {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}


def test_snapstart_hooks_run_in_order_around_the_restore(api, start_runtime):
    runtime = start_runtime("snapstart_app.handler", env=SNAP_START)
    assert reply_json(runtime.invoke(b"{}")) == ["before-2", "before-1", "after-1", "after-2"]
    paths = [r.path for r in api.requests]
    assert paths.index("/2018-06-01/runtime/restore/next") < paths.index("/2018-06-01/runtime/invocation/next")


def test_failing_before_snapshot_hook_is_an_init_error_and_exit_64(api, start_runtime):
    runtime = start_runtime("snapstart_app.handler", env={**SNAP_START, "FAIL_BEFORE_SNAPSHOT": "1"})
    reply = api.wait_for_path("/runtime/init/error")
    assert reply.header("Lambda-Runtime-Function-Error-Type") == "Runtime.BeforeSnapshotError"
    assert reply_json(reply)["errorMessage"] == "cannot snapshot"
    assert runtime.wait() == 64


def test_failing_after_restore_hook_is_a_restore_error_and_exit_65(api, start_runtime):
    runtime = start_runtime("snapstart_app.handler", env={**SNAP_START, "FAIL_AFTER_RESTORE": "1"})
    reply = api.wait_for_path("/runtime/restore/error")
    assert reply.header("Lambda-Runtime-Function-Error-Type") == "Runtime.AfterRestoreError"
    assert reply_json(reply)["errorMessage"] == "cannot restore"
    assert runtime.wait() == 65


def test_failed_restore_is_a_before_snapshot_error(start_runtime):
    with ScriptedRuntimeApi(restore_next_status=500) as api:
        runtime = RuntimeProcess(api, "snapstart_app.handler", env=SNAP_START)
        try:
            reply = api.wait_for_path("/runtime/init/error")
            assert reply.header("Lambda-Runtime-Function-Error-Type") == "Runtime.BeforeSnapshotError"
            assert runtime.wait() == 64
        finally:
            runtime.stop()


def test_max_concurrency_serves_invocations_in_parallel_workers(api, start_runtime):
    start_runtime("app.sleeps", env={"AWS_LAMBDA_MAX_CONCURRENCY": "3"})
    invocations = [api.push(json.dumps({"seconds": 1.0}).encode()) for _ in range(3)]
    replies = [reply_json(api.wait_for_reply(invocation, timeout=20)) for invocation in invocations]
    assert len({reply["pid"] for reply in replies}) == 3
    posts = [r for r in api.requests if r.method == "POST"]
    assert len({r.connection_id for r in posts}) == 3


def test_a_failing_worker_does_not_stop_the_others(api, start_runtime):
    runtime = start_runtime("app.exits", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"})
    runtime.invoke(b'{"code": 9}')  # one worker exits with status 9
    second = runtime.invoke(b'{"code": 0}')
    assert reply_json(second)["errorType"] == "SystemExit"
    assert runtime.wait() == 9


def test_init_error_rejected_for_a_second_worker_is_ignored():
    with ScriptedRuntimeApi(init_error_status=403) as api:
        runtime = RuntimeProcess(api, "app.no_such_function", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"})
        try:
            assert runtime.wait() == 1
            assert "Traceback" not in runtime.stderr
        finally:
            runtime.stop()


def test_sigterm_reaches_the_python_handler_while_waiting_for_next(api, start_runtime):
    runtime = start_runtime("sigterm_app.handler")
    assert runtime.invoke(b"{}").body == b'"ok"'
    api.wait_for(lambda r: r.path.endswith("/next") and len([x for x in api.requests if x.path.endswith("/next")]) == 2)
    time.sleep(0.2)  # the runtime is now blocked reading the next answer
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.wait(timeout=5) == 0
    assert "SIGTERM received, cleaning up" in runtime.stdout
