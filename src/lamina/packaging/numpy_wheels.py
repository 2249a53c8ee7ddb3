"""numpy for a layer's Python and architecture, from PyPI's binary wheels.

``pip download --platform`` picks the manylinux wheel for the target whatever this machine is;
wheels up to manylinux_2_34 load on Amazon Linux 2023 (glibc 2.34). numpy's wheels carry their
own OpenBLAS and gfortran runtime in ``numpy.libs/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from lamina.packaging.elf import LAMBDA_GLIBC
from lamina.packaging.python_dist import PythonDistribution

WHEEL_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
# The test suites: a sixth of numpy's size, never run on Lambda.
PRUNED = ("tests",)


class WheelError(RuntimeError):
    pass


def manylinux_platforms(architecture: str) -> list[str]:
    machine = WHEEL_MACHINES[architecture]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(LAMBDA_GLIBC[1], 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def download_wheel(requirement: str, python: PythonDistribution, directory: Path) -> Path:
    version = f"{python.version[0]}{python.version[1]}"
    platforms = [argument for platform in manylinux_platforms(python.architecture) for argument in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "download", requirement,
        "--only-binary=:all:", "--no-deps", "--disable-pip-version-check",
        "--python-version", version, "--implementation", "cp", "--abi", f"cp{version}",
        *platforms, "--dest", str(directory),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise WheelError(f"pip could not download {requirement} for {python.name} on {python.architecture}:\n{result.stderr[-3000:]}")
    wheels = sorted(directory.glob("*.whl"))
    if not wheels:
        raise WheelError(f"pip downloaded no wheel for {requirement}")
    return wheels[-1]


def install_wheel(wheel: Path, site_packages: Path) -> None:
    """Unpacks a wheel (what pip would install, minus tests), keeping executable bits."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or any(part in PRUNED for part in parts[1:-1]):
                continue
            target = site_packages / info.filename
            if site_packages.resolve() not in target.resolve().parents:
                raise WheelError(f"{wheel.name}: entry outside the package: {info.filename}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as destination:
                shutil.copyfileobj(source, destination)
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(0o755 if mode & 0o111 else 0o644)
