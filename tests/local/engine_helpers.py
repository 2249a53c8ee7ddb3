"""Helpers of the local Lambda's engine tests: a LocalLambda on loopback ports, with real
runtime processes — lamina (python3.12), awslambdaric (provided.al2023, bootstrap in a layer),
the developer guide's bash runtime, and scripted custom runtimes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import stat
import time
from pathlib import Path
from typing import AsyncIterator, Callable

from lamina.local.functions import FunctionConfig, InvocationRequest, InvocationResult
from lamina.local.logs import LogLine
from lamina.local.service import LocalLambda
from lamina.local.settings import Credentials, LocalLambdaSettings

HERE = Path(__file__).parent
FUNCTIONS = HERE / "functions"
AWSLAMBDARIC_LAYER = HERE / "layers" / "awslambdaric"
SCRIPTED_BOOTSTRAP = HERE / "runtimes" / "scripted_bootstrap.py"
RECORDER_EXTENSION = HERE / "runtimes" / "extensions" / "recorder"
TEST_CREDENTIALS = Credentials("AKIDLOCALTEST", "local-secret", "local-token")


class LogCollector:
    """The service's log sink: every line of every function."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []

    def __call__(self, line: LogLine) -> None:
        self.lines.append(line)

    def texts(self, function_name: str | None = None) -> list[str]:
        return [line.text for line in self.lines if function_name is None or line.function_name == function_name]

    def matching(self, pattern: str, function_name: str | None = None) -> list[str]:
        return [text for text in self.texts(function_name) if re.search(pattern, text)]


@contextlib.asynccontextmanager
async def local_lambda(tmp_path: Path, **settings: object) -> AsyncIterator[tuple[LocalLambda, LogCollector]]:
    logs = LogCollector()
    options = dict(work_dir=tmp_path / "work", credentials=TEST_CREDENTIALS, log_sink=logs)
    options.update(settings)
    async with LocalLambda(LocalLambdaSettings(**options)) as service:  # type: ignore[arg-type]
        yield service, logs


_names = iter(range(1_000_000))


def unique_name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


class Runtime:
    """How a runtime-agnostic test makes its functions: the same handlers in tests/local/
    functions/app.py, run by lamina (python3.12) or by awslambdaric behind a provided.al2023
    bootstrap (from a layer, which also covers /opt/bootstrap)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def function(self, handler: str, **options: object) -> FunctionConfig:
        layers = tuple(options.pop("layers", ()))  # type: ignore[arg-type]
        if self.name == "lamina":
            runtime = "python3.12"
        else:
            runtime, layers = "provided.al2023", (AWSLAMBDARIC_LAYER,) + layers
        options.setdefault("name", unique_name(handler.replace(".", "-").replace("_", "-")))
        options.setdefault("code_dir", FUNCTIONS)
        return FunctionConfig(handler=handler, runtime=runtime, layers=layers, **options)  # type: ignore[arg-type]


def scripted_function(tmp_path: Path, scenario: str, **options: object) -> FunctionConfig:
    """A provided.al2023 function whose bootstrap follows ``scenario`` (runtimes/scripted_bootstrap.py)."""
    code = tmp_path / f"code-{scenario}-{next(_names)}"
    code.mkdir()
    shutil.copy(SCRIPTED_BOOTSTRAP, code / "bootstrap")
    (code / "bootstrap").chmod(0o755)
    options.setdefault("name", unique_name(scenario.replace("_", "-")))
    return FunctionConfig(handler=scenario, code_dir=code, runtime="provided.al2023", **options)  # type: ignore[arg-type]


def extension_layer(tmp_path: Path, names: tuple[str, ...] = ("recorder",)) -> Path:
    """A layer directory with the recording extension in extensions/, under each name."""
    layer = tmp_path / f"extension-layer-{next(_names)}"
    (layer / "extensions").mkdir(parents=True)
    for name in names:
        shutil.copy(RECORDER_EXTENSION, layer / "extensions" / name)
        (layer / "extensions" / name).chmod(0o755)
    return layer


def make_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


async def invoke(service: LocalLambda, config: FunctionConfig, event: object = None, **request: object) -> InvocationResult:
    payload = event if isinstance(event, bytes) else json.dumps({} if event is None else event).encode()
    return await service.invoke(config.name, None, InvocationRequest(payload, **request))  # type: ignore[arg-type]


def body(result: InvocationResult) -> object:
    return json.loads(result.payload)


def log_lines(result: InvocationResult) -> list[str]:
    return result.log_tail.decode().splitlines()


async def wait_for(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    """Polls ``condition`` until it is truthy (the test fails when it never is)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False


def pid_in(chunk: bytes) -> int:
    """The pid a streaming test handler put in its first chunk (``... pid=N|``)."""
    return int(chunk.split(b"pid=")[1].split(b"|")[0])
