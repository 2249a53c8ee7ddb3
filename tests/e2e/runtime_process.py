"""A real runtime process (lamina or awslambdaric) serving the scripted Runtime API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lamina.testing.runtime_api import RecordedRequest, ScriptedInvocation, ScriptedRuntimeApi

FUNCTIONS = Path(__file__).parent / "functions"
RUNTIME_COMMANDS = {
    "lamina": [sys.executable, "-m", "lamina"],
    "awslambdaric": [sys.executable, "-m", "awslambdaric"],
}
FUNCTION_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "test-function",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/test-function",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef",
    "AWS_REGION": "us-east-1",
}


class RuntimeProcess:
    """A runtime process serving the scripted Runtime API; output goes to files so that a
    chatty runtime never blocks on a full pipe."""

    def __init__(
        self,
        api: ScriptedRuntimeApi,
        handler: str | None,
        runtime: str = "lamina",
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.api = api
        self.runtime = runtime
        self._output = tempfile.TemporaryDirectory()
        self.stdout_path = Path(self._output.name) / "stdout"
        self.stderr_path = Path(self._output.name) / "stderr"
        # Lambda's environment, not the test runner's: no AWS_* leftovers, no PYTHONUNBUFFERED.
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA", "_HANDLER", "PYTHONUNBUFFERED"))}
        environment.update(FUNCTION_ENVIRONMENT)
        environment.update(AWS_LAMBDA_RUNTIME_API=api.address, LAMBDA_TASK_ROOT=str(FUNCTIONS))
        environment.update(env or {})
        command = RUNTIME_COMMANDS[runtime] + ([handler] if handler else [])
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                command, cwd=FUNCTIONS, env=environment, stdout=stdout, stderr=stderr, pass_fds=pass_fds
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_bytes().decode(errors="replace")  # keeps "\r" as written

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_bytes().decode(errors="replace")

    def invoke(self, invocation: ScriptedInvocation | bytes | dict, timeout: float = 15.0) -> RecordedRequest:
        """Queues one invocation and returns the runtime's reply to it."""
        if isinstance(invocation, dict):
            invocation = json.dumps(invocation).encode()
        return self.api.wait_for_reply(self.api.push(invocation), timeout)

    def wait(self, timeout: float = 15.0) -> int:
        return self.process.wait(timeout)

    def wait_for_output(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.stdout
            if text in output:
                return output
            time.sleep(0.02)
        raise TimeoutError(f"{text!r} not in the runtime's output: {self.stdout!r} {self.stderr!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._output.cleanup()


def reply_json(reply: RecordedRequest):
    return json.loads(reply.body)
