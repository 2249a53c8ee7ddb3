"""The shared libraries a layer's ELF files need that Lambda's OS may not have, copied in.

Amazon Linux 2023 promises glibc and little else: everything else the interpreter and its
extension modules link (libssl, libffi, libz, libpython itself, ...) goes into the layer's
``lib/``, which is on Lambda's ``LD_LIBRARY_PATH`` (and the bootstrap's).
"""

from __future__ import annotations

import logging
import platform
import re
import shutil
from pathlib import Path

from lamina.packaging.elf import ELF_MACHINES, is_elf, read_elf
from lamina.packaging.python_dist import GNU_TRIPLETS

logger = logging.getLogger(__name__)

# glibc's own libraries: always there on Lambda, and never to be copied (a second glibc in
# one process does not work). libnsl.so.2 is libnsl2, not glibc; libcrypt is libxcrypt.
_GLIBC = re.compile(
    r"(ld-linux-[\w-]+\.so\.\d|lib(c|m|dl|pthread|rt|util|resolv|anl|BrokenLocale|mvec|thread_db|c_malloc_debug|memusage|pcprofile)\.so\.\d"
    r"|libnsl\.so\.1|libnss_\w+\.so\.2)"
)
_HOST_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def is_glibc(library: str) -> bool:
    return _GLIBC.fullmatch(library) is not None


def system_library_dirs(architecture: str) -> list[Path]:
    """This machine's library folders, when it runs the layer's architecture itself."""
    if _HOST_ARCHITECTURES.get(platform.machine().lower()) != architecture:
        return []
    triplet = GNU_TRIPLETS[architecture]
    candidates = [f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib64", "/usr/lib64", "/usr/local/lib", "/usr/lib"]
    return [Path(directory) for directory in candidates if Path(directory).is_dir()]


def copy_needed_libraries(
    elf_paths: list[Path], destination: Path, search_dirs: list[Path], architecture: str
) -> list[str]:
    """Copies the closure of what ``elf_paths`` need (DT_NEEDED, recursively) from search_dirs
    into destination, glibc excepted, as regular files named by soname. Returns what it could
    not find, one line per library and the first file that needs it."""
    machine = ELF_MACHINES[architecture]
    present = {path.name for path in destination.iterdir()} if destination.is_dir() else set()
    missing: dict[str, Path] = {}
    pending = list(elf_paths)
    while pending:
        facts = read_elf(pending.pop())
        for library in facts.needed:
            if is_glibc(library) or library in present or library in missing:
                continue
            found = _find_library(library, search_dirs, machine)
            if found is None:
                missing[library] = facts.path
                continue
            destination.mkdir(parents=True, exist_ok=True)
            copied = destination / library
            shutil.copy2(found, copied)  # follows the soname symlink: one regular file
            present.add(library)
            pending.append(copied)
            logger.debug("copied %s for %s", found, facts.path.name)
    return [f"{library} (needed by {path.name})" for library, path in sorted(missing.items())]


def _find_library(name: str, search_dirs: list[Path], machine: str) -> Path | None:
    for directory in search_dirs:
        candidate = directory / name
        if candidate.exists() and is_elf(candidate.resolve()) and read_elf(candidate.resolve()).machine == machine:
            return candidate.resolve()
    return None
