"""The layer for the managed python3.x runtimes (packaging.md §2): Lambda runs
``$AWS_LAMBDA_EXEC_WRAPPER /var/lang/bin/python3.X /var/runtime/bootstrap.py``; the wrapper
must start lamina instead of AWS's client, on that interpreter, with the function's handler."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import FUNCTIONS, REPOSITORY
from runner import RuntimeLaunch

AREA_EVENT = {"length": 6, "width": 7}


@pytest.fixture
def aws_runtime_client(tmp_path: Path) -> Path:
    """Stands in for /var/runtime/bootstrap.py: if it ever runs, the invocation fails."""
    script = tmp_path / "bootstrap.py"
    script.write_text("import sys\nsys.exit('AWS runtime client started instead of lamina')\n")
    return script


def managed_launch(layer, interpreter: str, runtime_client: Path, handler: str) -> RuntimeLaunch:
    return RuntimeLaunch([str(layer.root / "lamina-wrapper"), interpreter, runtime_client], FUNCTIONS, {}, handler)


def this_python() -> str:
    """The interpreter itself (as /var/lang/bin/python3.X is), not a virtualenv's link to it."""
    return os.path.realpath(os.path.join(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}"))


def test_wrapper_starts_lamina_with_the_functions_handler(make_layer, runner, aws_runtime_client):
    layer = make_layer("x86_64", flavor="managed")
    result = runner.invoke(managed_launch(layer, this_python(), aws_runtime_client, "app.area"), AREA_EVENT, expected={"area": 42})
    assert result.ok, f"{result.detail}\n{result.log}"


def test_wrapper_runs_the_layers_lamina_on_the_runtimes_interpreter(make_layer, runner, aws_runtime_client):
    layer = make_layer("x86_64", flavor="managed")
    expected = {
        "executable": this_python(),
        "lamina": str(layer.root / "python" / "lamina" / "__init__.py"),
        "machine": "x86_64",
        "version": list(sys.version_info[:2]),
    }
    result = runner.invoke(managed_launch(layer, this_python(), aws_runtime_client, "app.where_summary"), {}, expected=expected)
    assert result.ok, f"{result.detail}\n{result.log}"


def test_wrapper_keeps_interpreter_options(make_layer, tmp_path, aws_runtime_client):
    layer = make_layer("x86_64", flavor="managed")
    fake_python = tmp_path / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    fake_python.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake_python.chmod(0o755)
    output = subprocess.run([layer.root / "lamina-wrapper", fake_python, "-X", "importtime", aws_runtime_client], capture_output=True, text=True)
    assert output.stdout.splitlines() == ["-X", "importtime", "-m", "lamina"]


def test_wrapper_leaves_another_python_version_on_aws_client(make_layer, tmp_path, aws_runtime_client):
    """A layer built for 3.11 on a python3.99 function: the function keeps working on AWS's client."""
    layer = make_layer("x86_64", flavor="managed")
    other_python = tmp_path / "python3.99"
    other_python.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    other_python.chmod(0o755)
    output = subprocess.run([layer.root / "lamina-wrapper", other_python, aws_runtime_client], capture_output=True, text=True)
    assert output.stdout.splitlines() == [str(aws_runtime_client)]
    assert "no lamina for python3.99" in output.stderr


def test_managed_layer_layout(make_layer):
    layer = make_layer("x86_64", flavor="managed")
    with zipfile.ZipFile(layer.zip_path) as archive:
        entries = {info.filename: info for info in archive.infolist()}
    assert stat.S_IMODE(entries["lamina-wrapper"].external_attr >> 16) == 0o755
    assert "python/lamina/__init__.py" in entries
    assert any(name.startswith("python/lamina/_core.cpython-311-") for name in entries) or sys.version_info[:2] != (3, 11)
    assert not any(name.startswith(("bin/", "lib/", "bootstrap")) for name in entries), "the managed runtime brings Python"


def test_cli_builds_the_managed_layer(tmp_path, build_dir):
    """`lamina layer build --flavor managed` end to end (reuses the session's native build)."""
    pytest.importorskip("ziglang")
    output = tmp_path / "managed.zip"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    command = [sys.executable, "-m", "lamina.cli", "layer", "build", "--arch", "x86_64", "--flavor", "managed", "--python", version,
               "--output", str(output), "--source", str(REPOSITORY), "--build-dir", str(build_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"managed layer for python{version} on x86_64" in result.stdout
    assert zipfile.ZipFile(output).getinfo("lamina-wrapper")
