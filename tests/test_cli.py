"""`lamina invoke`: one local invocation through the local Lambda, the result on stdout, the
function's log (START ... REPORT) on stderr, exit status 1 when the function fails."""

import json
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hello"
FUNCTIONS = ROOT / "tests" / "e2e" / "functions"
LOCAL_API = ROOT / "tests" / "local_api"


def invoke(*arguments: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["lamina", "invoke", *arguments], capture_output=True, text=True, timeout=60, input=input)


def test_invoke_prints_the_result_and_the_log():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", '{"length": 6, "width": 7}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["area"] == 42
    assert "area of 6 x 7 is 42" in result.stderr


def test_the_log_runs_from_start_to_report():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", '{"length": 1, "width": 1}', "--memory", "256")
    request_id = json.loads(result.stdout)["request_id"]
    lines = result.stderr.splitlines()
    assert lines[0].startswith("INIT_START Runtime Version: ")
    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    assert f"END RequestId: {request_id}" in lines
    report = next(line for line in lines if line.startswith("REPORT"))
    assert re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\t"
        r"Max Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\t", report
    )


def test_invoke_reads_the_event_from_a_file(tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"length": 2, "width": 5}')
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", f"@{event}")
    assert json.loads(result.stdout)["area"] == 10


def test_invoke_reads_the_event_from_stdin():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", "@-", input='{"length": 3, "width": 3}')
    assert json.loads(result.stdout)["area"] == 9


def test_an_event_that_is_not_json_is_a_usage_error():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", "{length: 6}")
    assert result.returncode == 2
    assert "lamina invoke: --event is not JSON" in result.stderr
    assert result.stdout == ""


def test_function_error_exits_1_with_the_error_and_a_readable_traceback():
    result = invoke("app.handler", "--root", str(EXAMPLE), "--event", '{"length": 6}')
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "KeyError"
    assert "\nTraceback (most recent call last):\n" in result.stderr
    assert "\r" not in result.stderr


def test_init_error_exits_1():
    result = invoke("app.missing", "--root", str(EXAMPLE))
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_is_reported_as_lambda_does():
    result = invoke("app.sleeps", "--root", str(FUNCTIONS), "--event", '{"seconds": 5}', "--timeout", "1")
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(r"RequestId: [0-9a-f-]{36} Error: Task timed out after 1.00 seconds", error["errorMessage"])
    assert "\tStatus: timeout" in result.stderr


def test_environment_variables_reach_the_function():
    result = invoke("app.env_var", "--root", str(FUNCTIONS), "--env", "GREETING=hello=there", "--event", '{"name": "GREETING"}')
    assert result.returncode == 0
    assert json.loads(result.stdout) == "hello=there"


def test_a_reserved_variable_is_a_usage_error():
    result = invoke("app.env_var", "--root", str(FUNCTIONS), "--env", "AWS_REGION=mars-1")
    assert result.returncode == 2
    assert "AWS_REGION is reserved" in result.stderr


def test_layers_from_a_directory_and_a_zip(tmp_path):
    layer_zip = tmp_path / "layer.zip"
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/second.py", "VALUE = 'from the zip'\n")
    root = tmp_path / "code"
    root.mkdir()
    (root / "app.py").write_text(
        "import layered, second\n\ndef handler(event, context):\n    return [layered.greeting(), second.VALUE]\n"
    )
    result = invoke("app.handler", "--root", str(root), "--layer", str(LOCAL_API / "layer"), "--layer", str(layer_zip))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["hello from the layer", "from the zip"]


def test_a_custom_runtime_runs_the_bootstrap(tmp_path):
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text(
        f"#!{sys.executable}\n"
        "import json, os, urllib.request\n"
        "api = 'http://' + os.environ['AWS_LAMBDA_RUNTIME_API'] + '/2018-06-01/runtime/invocation/'\n"
        "while True:\n"
        "    with urllib.request.urlopen(api + 'next') as answer:\n"
        "        request_id = answer.headers['Lambda-Runtime-Aws-Request-Id']\n"
        "        event = json.loads(answer.read())\n"
        "    body = json.dumps({'handler': os.environ['_HANDLER'], 'event': event}).encode()\n"
        "    urllib.request.urlopen(urllib.request.Request(api + request_id + '/response', data=body, method='POST')).read()\n"
    )
    bootstrap.chmod(bootstrap.stat().st_mode | stat.S_IXUSR)
    result = invoke("function.handler", "--root", str(tmp_path), "--runtime", "provided.al2023", "--event", '{"n": 1}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"handler": "function.handler", "event": {"n": 1}}


def test_a_handler_or_a_template_is_required():
    result = invoke()
    assert result.returncode == 2
    assert "give the handler" in result.stderr


STREAMS = ROOT / "tests" / "local" / "functions"


def test_invoke_prints_a_streaming_handler_s_output_as_it_arrives(tmp_path):
    """The handler waits for a file after its first chunk; the test creates it only once that
    chunk is on lamina invoke's stdout (a buffered output would never show it)."""
    go = tmp_path / "go"
    process = subprocess.Popen(
        ["lamina", "invoke", "streams.gated", "--root", str(STREAMS), "--timeout", "60",
         "--event", json.dumps({"go": str(go)})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = b""
    while not first.endswith(b"|"):
        first += process.stdout.read(1)
    go.touch()
    rest, log = process.communicate(timeout=60)
    assert process.returncode == 0, log.decode()
    assert first.startswith(b"first pid=") and rest == b"second|third\n"
    assert b"REPORT RequestId:" in log


def test_invoke_prints_a_mid_stream_error_after_the_output_and_fails():
    result = invoke("streams.fails_mid_stream", "--root", str(STREAMS))
    assert result.returncode == 1
    output, error = result.stdout.split("\n", 1)
    assert output == "partial|"
    assert json.loads(error)["errorMessage"] == "broke mid-stream"
