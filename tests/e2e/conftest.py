"""End-to-end fixtures: runtime processes against the scripted Runtime API on loopback."""

from __future__ import annotations

from typing import Iterator

import pytest
from runtime_process import RuntimeProcess

from lamina.testing.runtime_api import ScriptedRuntimeApi


@pytest.fixture
def api() -> Iterator[ScriptedRuntimeApi]:
    with ScriptedRuntimeApi() as server:
        yield server


@pytest.fixture
def start_runtime(api: ScriptedRuntimeApi):
    """``start_runtime("app.echo", runtime="lamina", env={...})`` -> RuntimeProcess."""
    started: list[RuntimeProcess] = []

    def start(handler: str | None, runtime: str = "lamina", **options) -> RuntimeProcess:
        process = RuntimeProcess(api, handler, runtime, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()

