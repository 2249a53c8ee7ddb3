"""runtime.md sections 2 and 4: what the runtime reads from its environment, and the context
object built from it and from the invocation's headers."""

import json
import os
import subprocess
import sys
import time

from runtime_process import FUNCTION_ENVIRONMENT, FUNCTIONS, reply_json

from lamina.testing.runtime_api import ScriptedInvocation


def test_context_carries_function_and_invocation_fields(start_runtime):
    deadline = int(time.time() * 1000) + 60_000
    invocation = ScriptedInvocation(event=b"{}", deadline_ms=deadline, tenant_id="blue")
    fields = reply_json(start_runtime("app.context_fields").invoke(invocation))
    assert fields["aws_request_id"] == invocation.request_id
    assert fields["function_name"] == FUNCTION_ENVIRONMENT["AWS_LAMBDA_FUNCTION_NAME"]
    assert fields["function_version"] == "$LATEST"
    assert fields["memory_limit_in_mb"] == "256" and fields["memory_limit_type"] == "str"
    assert fields["log_group_name"] == FUNCTION_ENVIRONMENT["AWS_LAMBDA_LOG_GROUP_NAME"]
    assert fields["log_stream_name"] == FUNCTION_ENVIRONMENT["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert fields["invoked_function_arn"] == invocation.invoked_function_arn
    assert fields["tenant_id"] == "blue"
    assert 50_000 < fields["remaining_ms"] <= 60_000
    assert fields["identity"] == [None, None]
    assert fields["client_context"] is None
    assert fields["repr"].startswith(f"LambdaContext([aws_request_id={invocation.request_id},")


def test_remaining_time_is_never_negative(start_runtime):
    invocation = ScriptedInvocation(event=b"{}", deadline_ms=int(time.time() * 1000) - 5_000)
    assert reply_json(start_runtime("app.context_fields").invoke(invocation))["remaining_ms"] == 0


def test_client_context_and_cognito_identity_from_headers(start_runtime):
    client_context = {
        "client": {"installation_id": "i-1", "app_title": "Shop", "app_version_name": "1.2",
                   "app_version_code": "12", "app_package_name": "com.example.shop"},
        "custom": {"cart": 3},
        "env": {"locale": "pl_PL"},
    }
    identity = {"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"}
    invocation = ScriptedInvocation(
        event=b"{}", client_context=json.dumps(client_context), cognito_identity=json.dumps(identity)
    )
    fields = reply_json(start_runtime("app.context_fields").invoke(invocation))
    assert fields["client_context"] == client_context
    assert fields["identity"] == ["us-east-1:abc", "us-east-1:pool"]


def test_task_root_is_first_on_sys_path_and_the_working_directory(start_runtime):
    fields = reply_json(start_runtime("app.environment").invoke(b"{}"))
    assert fields["sys_path_0"] == str(FUNCTIONS)
    assert fields["cwd"] == str(FUNCTIONS)


def test_telemetry_fd_variable_is_removed_from_the_environment(start_runtime):
    read_end, write_end = os.pipe()
    try:
        runtime = start_runtime("app.environment", env={"_LAMBDA_TELEMETRY_LOG_FD": str(write_end)}, pass_fds=(write_end,))
        assert reply_json(runtime.invoke(b"{}"))["telemetry_fd_visible"] is False
    finally:
        os.close(read_end)
        os.close(write_end)


def test_missing_runtime_api_address_is_a_clear_error():
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    result = subprocess.run([sys.executable, "-m", "lamina", "app.area"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "AWS_LAMBDA_RUNTIME_API" in result.stderr
