"""Fixtures: real ``lamina serve`` processes on random loopback ports, with boto3 and the AWS CLI
as their clients."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent
FUNCTIONS = HERE / "functions"
LAYER = HERE / "layer"

# Clients talk to loopback only, with dummy credentials and no user configuration.
CLIENT_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


class LaminaServer:
    """A ``lamina serve`` process; its stdout (where it listens, then the function log) is
    collected line by line. Unless told ``--state-dir``, it gets a state directory of its own,
    removed when it stops."""

    def __init__(self, *arguments: str, cwd: Path | None = None) -> None:
        environment = {**os.environ, **CLIENT_ENVIRONMENT, "PYTHONUNBUFFERED": "1"}
        self._own_state_dir: str | None = None
        if "--state-dir" in arguments:
            self.state_dir = Path(arguments[arguments.index("--state-dir") + 1])
        else:
            self._own_state_dir = tempfile.mkdtemp(prefix="lamina-test-state-")
            self.state_dir = Path(self._own_state_dir)
            arguments = (*arguments, "--state-dir", self._own_state_dir)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lamina.cli", "serve", "--port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=cwd,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._collect, args=(self.process.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._collect, args=(self.process.stderr, self.errors), daemon=True).start()
        listening = self.wait_for_line(lambda line: "listening on" in line, timeout=30)
        self.url = re.search(r"http://\S+", listening).group(0)  # type: ignore[union-attr]

    def _collect(self, stream: io.TextIOBase, lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 10, start: int = 0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if predicate(line):
                        return line
                if time.monotonic() >= deadline or self.process.poll() is not None:
                    raise AssertionError(
                        "no such line from lamina serve; stdout:\n" + "\n".join(self.lines) + "\nstderr:\n" + "\n".join(self.errors)
                    )
                self._changed.wait(min(0.2, deadline - time.monotonic()))

    def client(self, **options: Any):
        """A boto3 Lambda client; no retries, so that a throttle is seen as it happens."""
        config = Config(retries={"total_max_attempts": 1}, read_timeout=120, connect_timeout=5, **options)
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        return session.client("lambda", endpoint_url=self.url, config=config)

    def aws(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        """The AWS CLI (``python -m awscli``) against this server."""
        command = [sys.executable, "-m", "awscli", "lambda", *arguments, "--endpoint-url", self.url, "--output", "json"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, **CLIENT_ENVIRONMENT})
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def stop(self, signal_number: int = signal.SIGTERM, timeout: float = 30) -> int:
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal_number)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
                    raise AssertionError(f"lamina serve did not stop within {timeout} s of signal {signal_number}")
            return self.process.returncode
        finally:
            if self._own_state_dir is not None:
                shutil.rmtree(self._own_state_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL to the server and every process it started, as when a machine dies."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def queue(self, name: str, maximum: int = 10, wait: float = 0.0) -> list[Any]:
        """``lamina queue receive NAME`` on this server's state directory: the JSON lines."""
        return receive_from_queue(self.state_dir, name, maximum, wait)


@pytest.fixture(scope="module")
def server() -> Iterator[LaminaServer]:
    """One server shared by a module's tests (each test makes its own functions)."""
    started = LaminaServer()
    yield started
    assert started.stop() == 0, "\n".join(started.errors)


@pytest.fixture
def start_server() -> Iterator[Callable[..., LaminaServer]]:
    """``start_server("--concurrency", "1", ...)``: a server for one test."""
    started: list[LaminaServer] = []

    def start(*arguments: str, cwd: Path | None = None) -> LaminaServer:
        started.append(LaminaServer(*arguments, cwd=cwd))
        return started[-1]

    yield start
    for each in started:
        each.stop()


@pytest.fixture(scope="module")
def client(server: LaminaServer):
    return server.client()


TEMPLATE_HEADER = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
"""


def write_template(directory: Path, text: str) -> Path:
    """A template next to copies of the test handlers (src/) and layer (layer/)."""
    shutil.copytree(FUNCTIONS, directory / "src", dirs_exist_ok=True)
    shutil.copytree(LAYER, directory / "layer", dirs_exist_ok=True)
    template = directory / "template.yaml"
    template.write_text(TEMPLATE_HEADER + textwrap.dedent(text))
    return template


def receive_from_queue(state_dir: Path, name: str, maximum: int = 10, wait: float = 0.0) -> list[Any]:
    """``lamina queue receive`` as a user runs it: the messages' bodies, one JSON document a line."""
    result = subprocess.run(
        [sys.executable, "-m", "lamina.cli", "queue", "receive", name, "--state-dir", str(state_dir), "--max", str(maximum),
         "--wait", str(wait)],
        capture_output=True, text=True, timeout=wait + 60,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def receive_at_least(state_dir: Path, name: str, count: int, timeout: float = 60) -> list[Any]:
    """Messages off the queue until there are `count` of them (or the timeout passes)."""
    received: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        received += receive_from_queue(state_dir, name, count - len(received), wait=min(10.0, max(deadline - time.monotonic(), 0.0)))
    return received


def zip_directory(directory: Path, replacements: dict[str, str] | None = None) -> bytes:
    """A deployment package of `directory`; `replacements` maps a file's name to other content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                name = path.relative_to(directory).as_posix()
                content = (replacements or {}).get(name)
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
                archive.writestr(info, path.read_bytes() if content is None else content.encode())
    return buffer.getvalue()


def unique_name(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_function(client, handler: str = "app.echo", name: str | None = None, **options: Any) -> str:
    """Creates a function from the test handlers' zip; returns its name."""
    name = name or unique_name()
    options.setdefault("Code", {"ZipFile": zip_directory(FUNCTIONS)})
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/test", Handler=handler, **options
    )
    return name


def invoke_json(client, name: str, event: Any = None, **options: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps({} if event is None else event).encode(), **options)
    return response, json.loads(response["Payload"].read() or b"null")
