"""The provided.al2023 layer, extracted as Lambda extracts it, serves real invocations
(packaging.md §1, §4): x86_64 natively, arm64 under qemu-aarch64."""

from __future__ import annotations

import dataclasses
import stat
import sys
import zipfile

import pytest
from conftest import FUNCTIONS

ARCHITECTURES = ["x86_64", "arm64"]
AREA_EVENT = {"length": 6, "width": 7}
ECHO_EVENT = {"records": [{"id": 1, "text": "héllo", "values": [1.5, None, True]}], "nested": {"a": {"b": []}}}
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layer_bootstrap_answers_area(make_layer, runner, architecture):
    layer = make_layer(architecture)
    result = runner.invoke(layer.launch("app.area"), AREA_EVENT, expected={"area": 42}, count=3)
    assert result.ok, f"{result.detail}\n{result.log}"


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layer_bootstrap_answers_echo(make_layer, runner, architecture):
    layer = make_layer(architecture)
    result = runner.invoke(layer.launch("app.echo"), ECHO_EVENT, expected=ECHO_EVENT)
    assert result.ok, f"{result.detail}\n{result.log}"


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layer_bootstrap_reports_a_handler_error(make_layer, runner, architecture):
    layer = make_layer(architecture)
    result = runner.invoke(layer.launch("app.fail"), AREA_EVENT)
    assert not result.ok
    assert result.error_type == "ValueError", result.detail
    assert "layer says no" in result.detail
    assert "[ERROR] ValueError: layer says no" in result.log


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layer_runs_its_own_interpreter_and_lamina(make_layer, runner, architecture):
    """Not the test machine's Python or lamina: the layer's, for the layer's architecture."""
    layer = make_layer(architecture)
    python = layer.report.python.name
    expected = {
        "executable": str(layer.root / "bin" / python),
        "lamina": str(layer.root / "lib" / python / "site-packages" / "lamina" / "__init__.py"),
        "machine": MACHINES[architecture],
        "version": list(layer.report.python.version),
    }
    result = runner.invoke(layer.launch("app.where_summary"), {}, expected=expected)
    assert result.ok, f"{result.detail}\n{result.log}"


def test_bootstrap_honours_aws_lambda_exec_wrapper(make_layer, runner, tmp_path):
    layer = make_layer("x86_64")
    marker = tmp_path / "wrapper-ran"
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" > "{marker}"\nexec "$@"\n')
    wrapper.chmod(0o755)
    result = runner.invoke(layer.launch("app.area", exec_wrapper=wrapper), AREA_EVENT, expected={"area": 42})
    assert result.ok, f"{result.detail}\n{result.log}"
    assert marker.read_text().split() == [str(layer.root / "bin" / layer.report.python.name), "-s", "-m", "lamina", "app.area"]


def test_bootstrap_works_from_a_relative_path(make_layer, runner):
    """Started as ./opt/bootstrap from the folder above: the layer is found from $0 alone."""
    layer = make_layer("x86_64")
    launch = dataclasses.replace(
        layer.launch("app.area"), command=[f"./{layer.root.name}/bootstrap"], working_directory=layer.root.parent
    )
    result = runner.invoke(launch, AREA_EVENT, expected={"area": 42})
    assert result.ok, f"{result.detail}\n{result.log}"


def test_function_packages_in_other_layers_are_importable(make_layer, runner, tmp_path):
    """Another layer's python/ folder (Lambda's convention) is on the path, before lamina's."""
    layer = make_layer("x86_64")
    (layer.root / "python" / "from_other_layer.py").write_text("VALUE = 'other layer'\n")
    try:
        result = runner.invoke(layer.launch("app.imports_other_layer"), {}, expected={"value": "other layer"})
    finally:
        (layer.root / "python" / "from_other_layer.py").unlink()
    assert result.ok, f"{result.detail}\n{result.log}"


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layer_follows_lambda_paths_and_keeps_modes(make_layer, architecture):
    layer = make_layer(architecture)
    python = layer.report.python.name
    with zipfile.ZipFile(layer.zip_path) as archive:
        entries = {info.filename: info for info in archive.infolist()}
    assert stat.S_IMODE(entries["bootstrap"].external_attr >> 16) == 0o755
    assert stat.S_IMODE(entries[f"bin/{python}"].external_attr >> 16) == 0o755
    assert f"lib/{python}/os.py" in entries
    assert f"lib/{python}/__pycache__/os.cpython-{layer.report.python.version[0]}{layer.report.python.version[1]}.pyc" in entries
    assert f"lib/{python}/site-packages/lamina/__main__.py" in entries
    assert "python/" in entries  # /opt/python: other layers' packages
    assert any(name.startswith("lib/libssl.so") for name in entries), "the interpreter's libraries go to /opt/lib"
    assert not any(name.startswith(("lib/libc.so", "lib/ld-linux")) for name in entries), "glibc is Lambda's"
    assert not any("/test/" in name or "/tkinter/" in name for name in entries)
    assert list(entries) == sorted(entries)
    assert {info.date_time for info in entries.values()} == {(1980, 1, 1, 0, 0, 0)}


def test_two_builds_are_byte_identical(make_layer, tmp_path, build_dir):
    from conftest import REPOSITORY

    from lamina.packaging.layer import LayerRequest, build_layer

    layer = make_layer("x86_64")
    again = tmp_path / "again.zip"
    build_layer(LayerRequest("x86_64", again, source=REPOSITORY, build_dir=build_dir))
    assert again.read_bytes() == layer.zip_path.read_bytes()


def test_this_machines_python_is_the_default_distribution(make_layer):
    layer = make_layer("x86_64")
    assert layer.report.python.version == sys.version_info[:2]
    assert FUNCTIONS.is_dir()


def test_layer_with_numpy_from_pypi_wheels(make_layer, runner):
    """--numpy: PyPI's manylinux wheel for the layer's Python and architecture, importable."""
    from lamina.packaging.numpy_wheels import WheelError

    try:
        layer = make_layer("x86_64", numpy="numpy>=1.24")
    except WheelError as exc:
        pytest.skip(f"PyPI is not reachable for numpy's wheel: {exc}")
    numpy_init = layer.root / "lib" / layer.report.python.name / "site-packages" / "numpy" / "__init__.py"
    result = runner.invoke(layer.launch("app.uses_numpy"), {"values": [1.5, 2.5, 3.0]}, expected={"sum": 7.0, "numpy": str(numpy_init)})
    assert result.ok, f"{result.detail}\n{result.log}"
