"""The CPython a layer is built from, whatever shape the user hands it in.

Accepted (``--python-dist``):

- a python-build-standalone ``install_only`` (or ``install_only_stripped``) tarball, or the
  directory it extracts to (``python/bin/python3.X``, ``python/lib/python3.X``);
- any installed prefix: ``DIR/bin/python3.X`` with ``DIR/lib/python3.X/os.py`` (pyenv,
  ``/usr/local`` builds, this machine's own Python);
- Debian packages extracted with ``dpkg-deb -x`` into one directory (``DIR/usr/bin/python3.X``;
  libraries in ``DIR/lib/<triplet>`` and ``DIR/usr/lib/<triplet>``; headers from
  ``libpython3.X-dev`` in ``DIR/usr/include``).

What it tells: the prefix, version, architecture (from the interpreter's ELF header), the
extension-module ABI tag, the headers, and where its shared libraries can be found.
"""

from __future__ import annotations

import collections
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from lamina.packaging.elf import ELF_MACHINES, read_elf

ARCHITECTURE_BY_MACHINE = {machine: architecture for architecture, machine in ELF_MACHINES.items()}
GNU_TRIPLETS = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
_STDLIB = re.compile(r"python(3)\.(\d+)")


class DistributionError(ValueError):
    """The given path is not a CPython we can build a layer from; the message says why."""


@dataclass(frozen=True)
class PythonDistribution:
    prefix: Path  # holds bin/python3.X and lib/python3.X
    version: tuple[int, int]
    architecture: str  # "x86_64" or "arm64"
    soabi: str  # "cpython-311-aarch64-linux-gnu": the tag in extension module file names
    include_dirs: tuple[Path, ...]  # Python.h first, then where a multiarch pyconfig.h lives
    library_dirs: tuple[Path, ...]  # where its shared libraries are, most specific first

    @property
    def name(self) -> str:
        """``python3.11``: the interpreter's file name and the stdlib folder's."""
        return f"python{self.version[0]}.{self.version[1]}"

    @property
    def executable(self) -> Path:
        return self.prefix / "bin" / self.name

    @property
    def stdlib(self) -> Path:
        return self.prefix / "lib" / self.name

    @property
    def extension_suffix(self) -> str:
        return f".{self.soabi}.so"

    def shared_libpython(self) -> list[Path]:
        """``libpython3.X.so*`` when the interpreter links it (python-build-standalone, pyenv)."""
        return sorted((self.prefix / "lib").glob(f"lib{self.name}.so*"))


def open_python_distribution(path: Path, scratch: Path) -> PythonDistribution:
    """Finds the CPython in a tarball or a directory; a tarball is extracted under scratch."""
    path = path.resolve()
    if path.is_file():
        path = _extract_tarball(path, scratch / "python-dist")
    if not path.is_dir():
        raise DistributionError(f"{path}: neither a directory nor a tarball")
    for root, prefix in ((path, path), (path, path / "python"), (path, path / "usr")):
        version = _stdlib_version(prefix)
        if version is not None:
            return _describe(root, prefix, version)
    raise DistributionError(
        f"{path}: no CPython found (looked for bin/python3.X with lib/python3.X/os.py in it, "
        "in python/ (python-build-standalone) and in usr/ (extracted Debian packages))"
    )


def _extract_tarball(tarball: Path, destination: Path) -> Path:
    if not tarfile.is_tarfile(tarball):
        raise DistributionError(f"{tarball}: not a tar archive (python-build-standalone install_only .tar.gz expected)")
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(destination, filter="tar")  # keeps modes and in-tree symlinks
        else:  # Python < 3.11.4: same behaviour without the filter argument
            archive.extractall(destination)
    return destination


def _stdlib_version(prefix: Path) -> tuple[int, int] | None:
    for stdlib in sorted((prefix / "lib").glob("python3.*"), reverse=True):
        match = _STDLIB.fullmatch(stdlib.name)
        if match and (stdlib / "os.py").is_file() and (prefix / "bin" / stdlib.name).exists():
            return int(match.group(1)), int(match.group(2))
    return None


def _describe(root: Path, prefix: Path, version: tuple[int, int]) -> PythonDistribution:
    name = f"python{version[0]}.{version[1]}"
    machine = read_elf((prefix / "bin" / name).resolve()).machine
    architecture = ARCHITECTURE_BY_MACHINE.get(machine)
    if architecture is None:
        raise DistributionError(f"{prefix / 'bin' / name}: {machine} is not an architecture Lambda runs")
    triplet = GNU_TRIPLETS[architecture]
    library_dirs = [prefix / "lib", prefix / "lib" / triplet]
    if prefix != root:  # Debian: libraries in /lib/<triplet> and /usr/lib/<triplet>
        library_dirs += [root / "lib" / triplet, root / "usr" / "lib" / triplet, root / "lib64", root / "lib"]
    headers = prefix / "include" / name
    include_dirs = (headers, prefix / "include") if (headers / "Python.h").is_file() else ()
    return PythonDistribution(
        prefix=prefix,
        version=version,
        architecture=architecture,
        soabi=_soabi(prefix / "lib" / name / "lib-dynload", version, triplet),
        include_dirs=include_dirs,
        library_dirs=tuple(directory for directory in library_dirs if directory.is_dir()),
    )


def _soabi(lib_dynload: Path, version: tuple[int, int], triplet: str) -> str:
    """The tag the distribution's own extension modules carry: what its importer looks for."""
    tags = collections.Counter(
        match.group(1)
        for module in lib_dynload.glob("*.so")
        if (match := re.fullmatch(r"[^.]+\.(cpython-[^.]+)\.so", module.name))
    )
    if tags:
        return tags.most_common(1)[0][0]
    return f"cpython-{version[0]}{version[1]}-{triplet}"
