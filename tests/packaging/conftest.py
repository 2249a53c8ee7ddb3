"""Fixtures of the packaging tests: layers built once per session for each architecture,
extracted to temporary folders, and the runner that serves them invocations.

- x86_64: built from this machine's own Python.
- arm64: built from Debian's arm64 python3.11 packages, which ``install_fixtures.sh`` fetches
  (``.ci/run`` runs it), and run through ``qemu-aarch64`` as the ``AWS_LAMBDA_EXEC_WRAPPER``.
Missing tools skip the tests that need them, saying what to install.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from runner import DriverRunner, RuntimeLaunch

from lamina.packaging.layer import LayerReport, LayerRequest, build_layer
from lamina.local.code import extract_zip

REPOSITORY = Path(__file__).resolve().parents[2]
FUNCTIONS = Path(__file__).parent / "functions"
FIXTURES = Path(os.environ.get("LAMINA_PACKAGING_FIXTURES", REPOSITORY / "build" / "fixtures"))
DEBIAN_ARM64_PYTHON = FIXTURES / "debian-arm64"
INSTALL_FIXTURES = "bash tests/packaging/install_fixtures.sh (as root)"


@dataclass(frozen=True)
class BuiltLayer:
    architecture: str
    zip_path: Path
    root: Path  # where the zip was extracted (Lambda's /opt)
    report: LayerReport
    sysroot: Path | None  # the arm64 root filesystem qemu loads glibc from

    def launch(self, handler: str, exec_wrapper: Path | None = None, environment: dict[str, str] | None = None) -> RuntimeLaunch:
        """The layer's bootstrap as Lambda starts it: /opt/bootstrap with _HANDLER set."""
        variables = dict(environment or {})
        wrapper = exec_wrapper or self.emulator_wrapper
        if wrapper is not None:
            variables["AWS_LAMBDA_EXEC_WRAPPER"] = str(wrapper)
        return RuntimeLaunch([str(self.root / "bootstrap")], FUNCTIONS, variables, handler)

    @property
    def emulator_wrapper(self) -> Path | None:
        if self.architecture == "x86_64" or self.sysroot is None:
            return None
        return write_qemu_wrapper(self.root.parent / "qemu-wrapper", self.sysroot)


def write_qemu_wrapper(path: Path, sysroot: Path) -> Path:
    """An exec wrapper that runs the command's aarch64 interpreter under qemu-aarch64."""
    path.write_text(f'#!/bin/sh\nexec {shutil.which("qemu-aarch64")} -L "{sysroot}" "$@"\n')
    path.chmod(0o755)
    return path


def require_zig() -> None:
    try:
        import ziglang  # noqa: F401
    except ImportError:
        pytest.skip("Zig cross-compiles the layers' native modules: pip install 'ziglang==0.15.2' (lamina[layer])")


def require_arm64_fixtures() -> None:
    if not (DEBIAN_ARM64_PYTHON / ".complete").is_file():
        pytest.skip(f"Debian's arm64 python3.11 is not in {DEBIAN_ARM64_PYTHON}: run {INSTALL_FIXTURES}")
    if shutil.which("qemu-aarch64") is None:
        pytest.skip(f"qemu-aarch64 runs the arm64 layer here: run {INSTALL_FIXTURES} (installs qemu-user)")


@pytest.fixture(scope="session")
def runner() -> DriverRunner:
    return DriverRunner()


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """The native build cache, kept between runs like any build tree (build/ is ignored)."""
    return REPOSITORY / "build" / "layer"


@pytest.fixture(scope="session")
def make_layer(tmp_path_factory: pytest.TempPathFactory, build_dir: Path) -> Callable[..., BuiltLayer]:
    """``make_layer("arm64", flavor="managed")`` builds (once per session) and extracts."""
    built: dict[tuple, BuiltLayer] = {}

    def make(architecture: str, flavor: str = "provided", numpy: str | None = None) -> BuiltLayer:
        key = (architecture, flavor, numpy)
        if key not in built:
            require_zig()
            if architecture == "arm64":
                require_arm64_fixtures()
                python_dist, sysroot = DEBIAN_ARM64_PYTHON, DEBIAN_ARM64_PYTHON
            elif platform.machine() != "x86_64":
                pytest.skip("the x86_64 layer is built from this machine's Python, which is not x86_64")
            else:
                python_dist, sysroot = None, None
            folder = tmp_path_factory.mktemp(f"layer-{architecture}-{flavor}")
            output = folder / f"lamina-{flavor}-{architecture}.zip"
            python_version = f"{sys.version_info[0]}.{sys.version_info[1]}" if flavor == "managed" else None
            report = build_layer(
                LayerRequest(architecture, output, python_dist, flavor, python_version, numpy, source=REPOSITORY, build_dir=build_dir)
            )
            root = folder / "opt"
            root.mkdir()
            extract_zip(output, root)
            built[key] = BuiltLayer(architecture, output, root, report, sysroot)
        return built[key]

    return make
