"""Builds lamina's native modules (``lamina._core``, the Cython glue) for a target Python and
architecture, on this machine, with the project's own CMakeLists.txt.

The compiler is Zig (PyPI's ``ziglang``) through ``layers/cmake/zig-toolchain.cmake``, for
x86_64 as well as arm64: ``-target <arch>-linux-gnu.2.34`` pins glibc symbol versions to
Amazon Linux 2023's whatever this machine's glibc is (Debian 12's gcc would pull
``_dl_find_object@GLIBC_2.35`` and ``arc4random@GLIBC_2.36`` into the extension), and Zig links
libc++ statically. The headers are the target Python's; pybind11 and Cython are the build
environment's (Cython's C output is the same for every CPython version).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lamina.packaging.python_dist import PythonDistribution

logger = logging.getLogger(__name__)

TOOLCHAIN_FILE = Path("layers") / "cmake" / "zig-toolchain.cmake"
ZIG_ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
# The version `lamina layer build` is tested with; Zig 0.14's libc++ lacks from_chars(double).
ZIGLANG_REQUIREMENT = "ziglang==0.15.2"


class NativeBuildError(RuntimeError):
    """The build could not run or failed; the message says what to do."""


@dataclass(frozen=True)
class NativeModules:
    """Built modules, keyed by their path in the package (``lamina/_core.<soabi>.so``)."""

    files: dict[str, Path]


def find_source_tree(start: Path | None = None) -> Path:
    """A lamina checkout: the given directory, the one this package was installed from in
    development mode, or the current directory."""
    candidates = [start] if start else [Path(__file__).resolve().parents[3], Path.cwd()]
    for candidate in candidates:
        if candidate and (candidate / "CMakeLists.txt").is_file() and (candidate / "src" / "lamina").is_dir():
            return candidate.resolve()
    raise NativeBuildError(
        "lamina's sources (CMakeLists.txt, cpp/, src/lamina/) are needed to compile the native modules "
        "for the layer's architecture: run from a lamina checkout or pass --source DIR"
    )


def find_zig() -> Path:
    try:
        import ziglang  # type: ignore[import-not-found]
    except ImportError as exc:
        raise NativeBuildError(f"Zig cross-compiles the native modules: pip install '{ZIGLANG_REQUIREMENT}'") from exc
    zig = Path(ziglang.__file__).parent / "zig"
    if not zig.is_file():
        raise NativeBuildError(f"the ziglang package has no zig executable at {zig}")
    return zig


def build_native_modules(source: Path, python: PythonDistribution, build_dir: Path) -> NativeModules:
    """Configures (once per build_dir), builds and installs the native modules; returns them
    named for the target Python (CMake names them for the build machine's when it cannot ask
    the target interpreter)."""
    if not python.include_dirs:
        raise NativeBuildError(
            f"{python.prefix}: no include/{python.name}/Python.h: the native modules are compiled against the "
            "target Python's headers (python-build-standalone archives have them; for Debian, add libpython3.X-dev)"
        )
    build_dir.mkdir(parents=True, exist_ok=True)
    cmake_dir = build_dir / "cmake"
    staging = build_dir / "staging"
    configure = _configure_command(source, python, cmake_dir)
    configured_with = build_dir / "configure-command.json"
    # A cache configured differently (another toolchain, other headers) is not reused.
    if not (cmake_dir / "CMakeCache.txt").is_file() or not configured_with.is_file() or json.loads(configured_with.read_text()) != configure:
        shutil.rmtree(cmake_dir, ignore_errors=True)
        _run(configure, "configure")
        configured_with.write_text(json.dumps(configure))
    _run(["cmake", "--build", str(cmake_dir), "--parallel", str(_parallel_jobs())], "build")
    shutil.rmtree(staging, ignore_errors=True)
    _run(["cmake", "--install", str(cmake_dir), "--prefix", str(staging)], "install")
    return NativeModules(_rename_for_target(staging, python))


def _configure_command(source: Path, python: PythonDistribution, cmake_dir: Path) -> list[str]:
    import pybind11

    extra_includes = " ".join(f"-idirafter {directory}" for directory in python.include_dirs[1:])
    # Paths of this build don't end up in the binaries: two builds elsewhere give the same bytes.
    prefix_maps = f"-ffile-prefix-map={source}=lamina -ffile-prefix-map={cmake_dir}=build"
    flags = f"{extra_includes} {prefix_maps}".strip()
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    return [
        "cmake",
        "-S", str(source),
        "-B", str(cmake_dir),
        *generator,
        f"-DCMAKE_TOOLCHAIN_FILE={source / TOOLCHAIN_FILE}",
        f"-DLAMINA_TARGET_ARCH={ZIG_ARCHITECTURES[python.architecture]}",
        f"-DLAMINA_ZIG={find_zig()}",
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DCMAKE_C_FLAGS={flags}",
        f"-DCMAKE_CXX_FLAGS={flags}",
        # Cython runs on the build machine; the headers and the module suffix are the target's.
        f"-DPython_EXECUTABLE={sys.executable}",
        f"-DLAMINA_TARGET_PYTHON_VERSION={python.version[0]}.{python.version[1]}",
        f"-DLAMINA_TARGET_PYTHON_INCLUDE={python.include_dirs[0]}",
        f"-DPython_SOABI={python.soabi}",
        f"-DPYTHON_MODULE_EXTENSION={python.extension_suffix}",
        f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
        f"-DSKBUILD_PROJECT_VERSION={project_version(source)}",
    ]


def _rename_for_target(staging: Path, python: PythonDistribution) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for built in sorted((staging / "lamina").rglob("*.so")):
        relative = built.relative_to(staging)
        if relative.parts[1] == "bin":  # the bench tools: not part of a runtime layer
            continue
        module = built.name.split(".", 1)[0]
        modules[str(relative.with_name(module + python.extension_suffix))] = built
    if not modules:
        raise NativeBuildError(f"the build installed no native module under {staging / 'lamina'}")
    return modules


def project_version(source: Path) -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', (source / "pyproject.toml").read_text(), re.MULTILINE)
    return match.group(1) if match else "0"


def _parallel_jobs() -> int:
    # The machines we build on are shared: never more than two compilers at once.
    return min(2, os.cpu_count() or 1)


def _run(command: list[str], step: str) -> None:
    logger.info("native build, %s: %s", step, " ".join(command))
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise NativeBuildError(f"native build failed at the {step} step:\n{result.stdout[-6000:]}")
