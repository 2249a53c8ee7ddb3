"""The developer guide's custom runtime tutorial: a bash ``bootstrap`` that talks to the
Runtime API with curl (tests/local/functions/bash)."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from lamina.local.functions import FunctionConfig

from engine_helpers import FUNCTIONS, invoke, local_lambda, log_lines

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the tutorial's runtime needs curl")


async def test_bash_bootstrap_from_the_tutorial_echoes_the_event(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(
            FunctionConfig("bash-runtime", "function.handler", FUNCTIONS / "bash", runtime="provided.al2023")
        )
        first = await invoke(service, function, {"text": "Hello"})
        second = await invoke(service, function, {"text": "again"})
    assert first.payload == b"""Echoing request: '{"text": "Hello"}'"""
    assert second.payload == b"""Echoing request: '{"text": "again"}'"""
    lines = log_lines(first)
    assert '{"text": "Hello"}' in lines  # the handler's stderr is in the log
    assert lines[-2] == f"END RequestId: {first.request_id}"
    assert second.init_duration_ms is None  # the same warm environment


async def test_bash_runtime_from_a_zip_keeps_the_bootstrap_executable(tmp_path):
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        for name in ("bootstrap", "function.sh"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            zip_file.writestr(info, (FUNCTIONS / "bash" / name).read_bytes())
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(FunctionConfig("bash-zip", "function.handler", archive, runtime="provided.al2"))
        result = await invoke(service, function, {"zipped": True})
    assert result.payload == b"""Echoing request: '{"zipped": true}'"""


async def test_bash_runtime_timeout_kills_curl_and_bash_and_recovers(tmp_path):
    code = tmp_path / "slow-bash"
    shutil.copytree(FUNCTIONS / "bash", code)
    (code / "function.sh").write_text('function handler () {\n  sleep "${SLEEP:-0}"\n  echo done\n}\n')
    async with local_lambda(tmp_path) as (service, _):
        slow = service.put_function(FunctionConfig(
            "slow-bash", "function.handler", code, runtime="provided.al2023", timeout_seconds=1,
            environment={"SLEEP": "30"},
        ))
        timed_out = await invoke(service, slow)
    assert timed_out.status == "timeout"
