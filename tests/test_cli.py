"""`lamina invoke`: one local invocation, the result on stdout, the log on stderr."""

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hello"
FUNCTIONS = ROOT / "tests" / "e2e" / "functions"


def invoke(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["lamina", "invoke", *arguments], capture_output=True, text=True, timeout=60)


def test_invoke_prints_the_result_and_the_log():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", '{"length": 6, "width": 7}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["area"] == 42
    assert "area of 6 x 7 is 42" in result.stderr


def test_invoke_reads_the_event_from_a_file(tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"length": 2, "width": 5}')
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", f"@{event}")
    assert json.loads(result.stdout)["area"] == 10


def test_function_error_exits_1_with_the_error_and_a_readable_traceback():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", '{"length": 6}')
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "KeyError"
    assert "\nTraceback (most recent call last):\n" in result.stderr


def test_init_error_exits_1():
    result = invoke("app.missing", "--root", str(EXAMPLE))
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_is_reported_as_lambda_does():
    result = invoke("app.sleeps", "--root", str(FUNCTIONS), "--event", '{"seconds": 5}', "--timeout", "1")
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds"}


def test_environment_variables_reach_the_function():
    result = invoke("app.env_var", "--root", str(FUNCTIONS), "--env", "GREETING=hello=there", "--event", '{"name": "GREETING"}')
    assert result.returncode == 0
    assert json.loads(result.stdout) == "hello=there"
