"""Runs a built artifact the way Lambda starts it and sends it invocations.

Today the Lambda side is the native Runtime API driver (``lamina/bin/runtime_api_driver``): it
spawns the artifact's command with ``AWS_LAMBDA_RUNTIME_API`` pointing at itself, serves the
event and checks the answer. When the local Lambda lands (``lamina.local.service.LocalLambda``
with ``provided.al2023`` functions and ``--layer``), a runner with the same ``invoke`` method
replaces :class:`DriverRunner` in ``conftest.py``; the tests stay as they are.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import lamina

DRIVER = Path(lamina.__file__).parent / "bin" / "runtime_api_driver"
# The test runner's own Python settings must not leak into the artifact's interpreter.
_NOT_INHERITED = ("PYTHON", "VIRTUAL_ENV", "AWS_", "_HANDLER", "_LAMBDA", "LD_LIBRARY_PATH", "LAMBDA_")


@dataclass(frozen=True)
class RuntimeLaunch:
    """How Lambda would start the artifact: /opt/bootstrap, an exec wrapper, an image's
    Entrypoint + Cmd."""

    command: list[str]
    task_root: Path
    environment: dict[str, str] = field(default_factory=dict)
    handler: str | None = None  # _HANDLER; None when the command names it (an image's Cmd)
    working_directory: Path | None = None  # where the command starts; the task root by default


@dataclass(frozen=True)
class InvocationResult:
    ok: bool  # every invocation answered /response with the expected body
    error_type: str | None  # Lambda-Runtime-Function-Error-Type of an /error post
    detail: str  # the driver's first error, when there is one
    log: str  # the runtime's stdout and stderr
    cold_start_ms: float | None


class DriverRunner:
    def __init__(self, timeout_seconds: float = 120.0) -> None:
        self.timeout_seconds = timeout_seconds

    def invoke(self, launch: RuntimeLaunch, event: object, expected: object | None = None, count: int = 1) -> InvocationResult:
        with tempfile.TemporaryDirectory(prefix="lamina-invoke-") as scratch:
            folder = Path(scratch)
            payload, log = folder / "event.json", folder / "runtime.log"
            # The driver compares texts (whitespace aside); lamina writes non-ASCII as UTF-8.
            payload.write_text(json.dumps(event, ensure_ascii=False), encoding="utf-8")
            command = [str(DRIVER), "--payload", str(payload), "--count", str(count), "--json", "--timeout", "60"]
            if expected is not None:
                (folder / "expected.json").write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
                command += ["--expect", str(folder / "expected.json")]
            if launch.handler is not None:
                command += ["--env", f"_HANDLER={launch.handler}"]
            for key, value in launch.environment.items():
                command += ["--env", f"{key}={value}"]
            command += ["--runtime-output", str(log), "--", *launch.command]
            environment = {key: value for key, value in os.environ.items() if not key.startswith(_NOT_INHERITED)}
            environment["LAMBDA_TASK_ROOT"] = str(launch.task_root)
            finished = subprocess.run(
                command, cwd=launch.working_directory or launch.task_root, env=environment, capture_output=True, text=True, timeout=self.timeout_seconds
            )
            report = json.loads(finished.stdout) if finished.stdout.strip() else {"outcome": finished.stderr}
            detail = report.get("first_error") or ""
            error_type = re.search(r"Lambda-Runtime-Function-Error-Type: ([^)]+)\)", detail)
            return InvocationResult(
                ok=report.get("outcome") == "ok",
                error_type=error_type.group(1) if error_type else None,
                detail=detail or str(report.get("outcome")),
                log=log.read_text(errors="replace") if log.exists() else finished.stderr,
                cold_start_ms=report["cold_start_us"] / 1000 if isinstance(report.get("cold_start_us"), (int, float)) else None,
            )
