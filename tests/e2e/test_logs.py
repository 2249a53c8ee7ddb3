"""runtime.md section 5: log lines, formats, levels, telemetry frames, the uncaught-error line."""

import json
import os
import re
import struct

import pytest
from runtime_process import reply_json

from lamina.testing.runtime_api import ScriptedInvocation

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
NBSP = "\u00a0"


def run_logs_handler(start_runtime, env=None, handler="app.logs"):
    runtime = start_runtime(handler, env=env)
    invocation = ScriptedInvocation(event=b"{}")
    reply = runtime.invoke(invocation)
    return runtime, invocation.request_id, reply


def test_text_log_lines_carry_level_time_and_request_id(start_runtime):
    runtime, request_id, _ = run_logs_handler(start_runtime)
    output = runtime.wait_for_output("context log line")
    assert re.search(rf"^\[WARNING\]\t{TIMESTAMP}\t{request_id}\twarning record with args$", output, re.M)
    assert re.search(rf"^\[ERROR\]\t{TIMESTAMP}\t{request_id}\terror record$", output, re.M)
    assert "printed line\n" in output
    assert "debug record" not in output and "info record" not in output  # root logger at WARNING


def test_log_level_trace_means_debug(start_runtime):
    runtime, request_id, _ = run_logs_handler(start_runtime, env={"AWS_LAMBDA_LOG_LEVEL": "TRACE"})
    output = runtime.wait_for_output("context log line")
    assert re.search(rf"^\[DEBUG\]\t{TIMESTAMP}\t{request_id}\tdebug record$", output, re.M)


def test_log_level_error_filters_warnings(start_runtime):
    runtime, _, _ = run_logs_handler(start_runtime, env={"AWS_LAMBDA_LOG_LEVEL": "error"})
    output = runtime.wait_for_output("context log line")
    assert "warning record" not in output and "error record" in output


def test_json_log_lines(start_runtime):
    runtime, request_id, _ = run_logs_handler(start_runtime, env={"AWS_LAMBDA_LOG_FORMAT": "json"})
    output = runtime.wait_for_output("context log line")
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    by_message = {r["message"]: r for r in records}
    warning = by_message["warning record with args"]
    assert list(warning) == ["timestamp", "level", "message", "logger", "requestId"]
    assert warning["level"] == "WARNING" and warning["logger"] == "app" and warning["requestId"] == request_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", warning["timestamp"])
    assert by_message["error record"]["order"] == 7
    failure = by_message["exception record"]
    assert failure["errorType"] == "RuntimeError" and failure["errorMessage"] == "logged failure"
    assert failure["location"].endswith(":logs:" + failure["location"].rsplit(":", 1)[1])
    assert failure["stackTrace"] and "raise RuntimeError" in failure["stackTrace"][-1]


def test_uncaught_error_text_line_is_one_line_with_no_break_space_indentation(start_runtime):
    runtime, _, _ = run_logs_handler(start_runtime, handler="app.raises_value_error")
    output = runtime.wait_for_output("[ERROR] ValueError")
    line = next(line for line in output.split("\n") if line.startswith("[ERROR] ValueError"))
    parts = line.split("\r")
    assert parts[0] == "[ERROR] ValueError: boom"
    assert parts[1] == "Traceback (most recent call last):"
    assert parts[2].startswith(NBSP * 2 + 'File "') and parts[2].endswith("in raises_value_error")
    assert parts[3] == NBSP * 4 + 'raise ValueError("boom")'


def test_uncaught_error_json_line(start_runtime):
    runtime, request_id, _ = run_logs_handler(
        start_runtime, env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}, handler="app.raises_value_error"
    )
    output = runtime.wait_for_output('"errorType"')
    record = json.loads(next(line for line in output.splitlines() if '"errorType"' in line))
    assert list(record) == ["timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"]
    assert record["level"] == "ERROR" and record["requestId"] == request_id
    assert record["errorMessage"] == "boom"


def test_stdout_is_flushed_per_line_not_per_write(start_runtime):
    fields = reply_json(start_runtime("app.stdout_buffering").invoke(b"{}"))
    assert fields == {"line_buffering": True, "write_through": False}


def test_partial_print_line_is_flushed_when_the_invocation_ends(start_runtime):
    runtime, _, _ = run_logs_handler(start_runtime, handler="app.partial_line")
    assert "no newline at the end" in runtime.wait_for_output("no newline at the end")


def read_frames(read_end, stop):
    frames, buffer = [], b""
    while not stop.is_set() or buffer:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= 16:
            frame_type, length, timestamp = struct.unpack(">IIQ", buffer[:16])
            if len(buffer) < 16 + length:
                break
            frames.append((frame_type, buffer[16 : 16 + length].decode(), timestamp))
            buffer = buffer[16 + length :]
    return frames


def run_with_telemetry_fd(start_runtime, handler, env):
    """Runs one invocation with _LAMBDA_TELEMETRY_LOG_FD set; returns the frames written."""
    read_end, write_end = os.pipe()
    runtime = start_runtime(handler, env={"_LAMBDA_TELEMETRY_LOG_FD": str(write_end), **env}, pass_fds=(write_end,))
    os.close(write_end)
    runtime.invoke(b"{}")
    runtime.stop()  # closes the runtime's write end: the reader sees the end of the frames
    frames = read_frames(read_end)
    os.close(read_end)
    return frames


def read_frames(read_end):
    frames, buffer = [], b""
    while chunk := os.read(read_end, 65536):
        buffer += chunk
    while buffer:
        frame_type, length, timestamp = struct.unpack(">IIQ", buffer[:16])
        frames.append((frame_type, buffer[16 : 16 + length].decode(), timestamp))
        buffer = buffer[16 + length :]
    return frames


@pytest.mark.parametrize(
    ("env", "warning_type"),
    [({}, 0xA55A0003), ({"AWS_LAMBDA_LOG_LEVEL": "INFO"}, 0xA55A0013), ({"AWS_LAMBDA_LOG_FORMAT": "JSON"}, 0xA55A0012)],
)
def test_telemetry_fd_gets_one_frame_per_record(start_runtime, env, warning_type):
    frames = run_with_telemetry_fd(start_runtime, "app.logs", env)
    types_by_text = {text: frame_type for frame_type, text, _ in frames}
    warning = next(text for text in types_by_text if "warning record with args" in text)
    assert types_by_text[warning] == warning_type
    assert types_by_text["context log line\n"] == 0xA55A0003
    exception_record = next(text for text in types_by_text if "exception record" in text)
    # the traceback stays inside its record's frame
    assert ('"stackTrace"' if env.get("AWS_LAMBDA_LOG_FORMAT") else "Traceback") in exception_record
    assert all(timestamp > 1_700_000_000_000_000 for _, _, timestamp in frames)


@pytest.mark.parametrize(("env", "frame_type"), [({}, 0xA55A0017), ({"AWS_LAMBDA_LOG_FORMAT": "JSON"}, 0xA55A0016)])
def test_uncaught_error_is_one_error_frame_on_the_telemetry_fd(start_runtime, env, frame_type):
    frames = run_with_telemetry_fd(start_runtime, "app.raises_value_error", env)
    [(error_type, text, _)] = [frame for frame in frames if "boom" in frame[1]]
    assert error_type == frame_type
    if not env:
        assert text.startswith("[ERROR] ValueError: boom\nTraceback (most recent call last):\n")
