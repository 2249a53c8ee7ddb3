"""Precompiled bytecode for a layer, so that no cold start compiles the standard library.

Lambda mounts layers read-only: a ``.pyc`` that is missing or judged stale is recompiled in
memory at every cold start. The files are written in ``unchecked-hash`` mode — used without
looking at the source's timestamp, which a reproducible zip fixes to 1980 anyway — by an
interpreter of the target's version (bytecode differs between minor versions), with a fixed
hash seed and recorded source paths under ``/opt`` so two builds give the same bytes.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def bytecode_compiler(version: tuple[int, int]) -> list[str] | None:
    """A command running a CPython of this version on this machine, or None."""
    if sys.version_info[:2] == version:
        return [sys.executable]
    found = shutil.which(f"python{version[0]}.{version[1]}")
    return [found] if found else None


def compile_tree(compiler: list[str], tree: Path, recorded_as: str) -> None:
    """Compiles every ``.py`` under tree; tracebacks of code loaded from these files name
    ``recorded_as/<relative path>`` until the import system fixes them to the real path."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment["PYTHONHASHSEED"] = "0"  # frozenset constants are marshalled in hash order
    command = [
        *compiler, "-I", "-m", "compileall",
        "-q", "-j", "1",  # one process: marshal's output depends on what was compiled before
        "--invalidation-mode", "unchecked-hash",
        "-d", recorded_as,
        str(tree),
    ]
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        # A file that does not compile (a syntax test, a Python 2 leftover) fails at import
        # time as it would anyway; the rest is compiled.
        logger.warning("some files under %s did not compile:\n%s", tree, (result.stdout + result.stderr)[-2000:])
