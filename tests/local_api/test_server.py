"""``lamina serve`` as a process: where it listens, the function log as it happens, and a clean
shutdown on SIGTERM and Ctrl-C (SIGINT) that takes the execution environments with it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import create_function, invoke_json


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_serve_prints_where_it_listens_on_loopback(start_server):
    server = start_server()
    assert server.lines[0] == f"lamina serve: listening on {server.url}"
    assert server.url.startswith("http://127.0.0.1:")


def test_serve_prints_the_function_log_as_it_happens(start_server):
    server = start_server()
    client = server.client()
    name = create_function(client, "app.logs_a_lot")
    response, _ = invoke_json(client, name, {"lines": 2})
    request_id = response["ResponseMetadata"]["RequestId"]
    server.wait_for_line(lambda line: line == f"{name} | START RequestId: {request_id} Version: $LATEST")
    server.wait_for_line(lambda line: line.startswith(f"{name} | line 0001 "))
    server.wait_for_line(lambda line: line.startswith(f"{name} | REPORT RequestId: {request_id}\tDuration: "))


def test_error_tracebacks_are_printed_as_lines(start_server):
    server = start_server()
    client = server.client()
    name = create_function(client, "app.fails")
    invoke_json(client, name)
    server.wait_for_line(lambda line: line.startswith(f"{name} | [ERROR] ValueError: boom"))
    server.wait_for_line(lambda line: line == f"{name} | Traceback (most recent call last):")


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_shuts_the_server_and_its_environments_down(start_server, signal_number):
    server = start_server()
    client = server.client()
    for handler in ["app.echo", "app.version"]:
        invoke_json(client, create_function(client, handler))
    environments = children_of(server.process.pid)
    assert len(environments) >= 2  # one runtime process per warm environment
    started = time.monotonic()
    assert server.stop(signal_number, timeout=15) == 0
    assert time.monotonic() - started < 5
    assert "lamina serve: shutting down" in server.lines
    assert not [pid for pid in environments if is_running(pid)]


def test_a_busy_port_is_reported(start_server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "lamina.cli", "serve", "--port", str(port), "--state-dir", str(tmp_path)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"lamina serve: cannot listen on 127.0.0.1:{port}" in result.stderr


def test_listening_beyond_loopback_warns(start_server):
    server = start_server("--host", "0.0.0.0")
    time.sleep(0.2)
    assert any("anyone who can reach it can run code" in line for line in server.errors)


