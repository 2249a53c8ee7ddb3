"""The CPython part of a provided.al2023 layer: the interpreter in ``bin/``, the standard
library in ``lib/python3.X/`` without what a Lambda function cannot use, and the shared
libraries it links in ``lib/``. Where Lambda extracts it (``/opt``), the interpreter finds its
standard library from its own location: ``/opt/bin/python3.X`` -> ``/opt/lib/python3.X``."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from lamina.packaging.python_dist import PythonDistribution

# Parts of the standard library that serve development, GUIs or installing packages: ~40% of
# its size. Lambda's /opt is read-only and has no display.
PRUNED_STDLIB = (
    "test", "*/test", "*/tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
    "pydoc_data", "config-3.*", "site-packages", "dist-packages", "__pycache__", "__phello__",
)
PRUNED_FILES = ("turtle.py", "*.exe", "*.a", "*.o", "*.orig")
# Extension modules only the test suite or tkinter use.
PRUNED_EXTENSIONS = ("_test*", "_ctypes_test*", "xxlimited*", "_xxtestfuzz*", "_xxsubinterpreters*", "xxsubtype*", "_tkinter*")


def copy_python(python: PythonDistribution, layer: Path) -> list[Path]:
    """Copies the interpreter and the pruned standard library; returns their ELF files (the
    interpreter and lib-dynload's modules), whose libraries the layer must carry."""
    interpreter = layer / "bin" / python.name
    interpreter.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(python.executable.resolve(), interpreter)
    stdlib = layer / "lib" / python.name
    shutil.copytree(python.stdlib, stdlib, ignore=_ignore_pruned, symlinks=False)
    (stdlib / "site-packages").mkdir()
    return [interpreter, *sorted((stdlib / "lib-dynload").glob("*.so"))]


def _ignore_pruned(directory: str, names: list[str]) -> set[str]:
    ignored: set[str] = set()
    folder = Path(directory)
    for name in names:
        path = folder / name
        patterns = PRUNED_EXTENSIONS if folder.name == "lib-dynload" else PRUNED_FILES
        if path.is_dir() and not path.is_symlink():
            relative = f"{folder.name}/{name}"
            if any(fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative, pattern) for pattern in PRUNED_STDLIB):
                ignored.add(name)
        elif any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            ignored.add(name)
    return ignored


# binutils' strip for each architecture: this machine's own for its architecture, the cross
# binutils (binutils-aarch64-linux-gnu) for arm64. Zig's objcopy cannot strip shared objects.
STRIP_TOOLS = {"x86_64": ("x86_64-linux-gnu-strip", "strip"), "arm64": ("aarch64-linux-gnu-strip", "llvm-strip")}


def strip_debug_info(files: list[Path], architecture: str) -> bool:
    """Removes debug sections (a from-source Python carries ~80% of its size in them); the
    symbols the loader uses stay. Returns False when no strip tool for the architecture exists."""
    import platform
    import subprocess

    from lamina.packaging.elf import has_debug_info

    candidates = list(STRIP_TOOLS[architecture])
    if architecture == "x86_64" and platform.machine() != "x86_64":
        candidates.remove("strip")
    tool = next((found for name in candidates if (found := shutil.which(name))), None)
    if tool is None:
        return False
    for path in files:
        if has_debug_info(path):
            subprocess.run([tool, "--strip-debug", str(path)], check=True, capture_output=True)
    return True
