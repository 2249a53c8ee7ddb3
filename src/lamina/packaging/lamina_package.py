"""lamina itself as a layer carries it: the runtime's Python files from the source tree and
the native modules built for the layer's Python and architecture."""

from __future__ import annotations

import shutil
from pathlib import Path

from lamina.packaging.native_build import NativeModules

# What a function's runtime never imports: the developer tools (CLI, local Lambda, the
# scripted Runtime API, this packager), the bench tools, and sources of compiled modules' types.
DEVELOPMENT_ONLY = ("cli.py", "local", "testing", "packaging", "bin", "__pycache__")
DEVELOPMENT_SUFFIXES = (".pxd", ".so", ".pyc")


def copy_lamina(source: Path, native: NativeModules, site_packages: Path) -> list[Path]:
    """Copies the package into site_packages; returns the native modules' paths there."""
    package = source / "src" / "lamina"
    destination = site_packages / "lamina"
    shutil.copytree(package, destination, ignore=_development_only)
    copied = []
    for relative, built in sorted(native.files.items()):
        target = site_packages / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)
        target.chmod(0o755)
        copied.append(target)
    return copied


def _development_only(directory: str, names: list[str]) -> set[str]:
    top_level = Path(directory).name == "lamina"
    return {
        name
        for name in names
        if name.endswith(DEVELOPMENT_SUFFIXES)
        or name == "__pycache__"
        or (top_level and name in DEVELOPMENT_ONLY)
    }
