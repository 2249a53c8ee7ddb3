"""The layers as provided.al2023 functions of the local Lambda (`lamina invoke --runtime
provided.al2023 --layer ZIP`): it extracts the zip to its own /opt and runs /opt/bootstrap,
as Lambda does. The other tests drive the artifacts with the native driver (runner.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import FUNCTIONS


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_local_lambda_runs_the_layer_as_a_provided_al2023_function(make_layer, architecture, tmp_path):
    layer = make_layer(architecture)
    command = [sys.executable, "-m", "lamina.cli", "invoke", "app.area", "--runtime", "provided.al2023",
               "--layer", str(layer.zip_path), "--root", str(FUNCTIONS), "--event", '{"length": 6, "width": 7}', "--timeout", "60"]
    if layer.emulator_wrapper is not None:
        command += ["--env", f"AWS_LAMBDA_EXEC_WRAPPER={layer.emulator_wrapper}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"area": 42}
    assert "REPORT RequestId" in result.stderr
