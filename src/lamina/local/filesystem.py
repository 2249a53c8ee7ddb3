"""The files of a function version as its environments see them.

Lambda's paths (/var/task, /opt, /tmp, /var/runtime) need root; the local Lambda gives each
function version directories under the work directory instead and tells the runtime where
they are (LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, TMPDIR, and ``<opt>/bin``, ``<opt>/lib``,
``<opt>/python`` on PATH, LD_LIBRARY_PATH, PYTHONPATH, as Lambda puts /opt's):

    <work>/functions/<name>/<version>-<generation>/task   the code, when it came as a zip
    <work>/functions/<name>/<version>-<generation>/opt    the layers, extracted in order
    <work>/environments/<environment id>/tmp              one per environment; survives a reset

A code directory is used in place (edits show up at the next cold start); zips are extracted
with their Unix permissions, so a ``bootstrap`` or an extension stays executable.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lamina.local.code import extract_zip
from lamina.local.functions import ConfigurationError, FunctionConfig


@dataclass(frozen=True)
class FunctionFiles:
    """Where one function version's code and layers are."""

    task_root: Path
    opt: Path
    external_extensions: tuple[str, ...]  # file names in <opt>/extensions, started before the runtime

    def extension_path(self, name: str) -> Path:
        return self.opt / "extensions" / name


def prepare_function_files(config: FunctionConfig, directory: Path) -> FunctionFiles:
    """Extracts the code (when a zip) and builds /opt from the layers into ``directory``.
    Blocking: call it in a thread."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    code = Path(config.code_dir)
    if code.is_dir():
        task_root = code.resolve()
    elif zipfile.is_zipfile(code):
        task_root = directory / "task"
        extract_zip(code, task_root)
    else:
        raise ConfigurationError(f"Code {code} is neither a directory nor a zip file")
    opt = directory / "opt"
    opt.mkdir()
    for layer in config.layers:
        add_layer(Path(layer), opt)
    extensions_dir = opt / "extensions"
    extensions = tuple(sorted(p.name for p in extensions_dir.iterdir() if p.is_file())) if extensions_dir.is_dir() else ()
    return FunctionFiles(task_root, opt, extensions)


def add_layer(layer: Path, opt: Path) -> None:
    """Extracts a layer (zip or directory) over ``opt``: its files replace earlier layers'."""
    if layer.is_dir():
        shutil.copytree(layer, opt, symlinks=True, dirs_exist_ok=True)
    elif zipfile.is_zipfile(layer):
        extract_zip(layer, opt)
    else:
        raise ConfigurationError(f"Layer {layer} is neither a directory nor a zip file")


def find_bootstrap(files: FunctionFiles) -> Path | None:
    """The custom runtime's entry point: ``bootstrap`` in the task root, else in /opt."""
    for candidate in (files.task_root / "bootstrap", files.opt / "bootstrap"):
        if candidate.exists():
            return candidate
    return None


def bootstrap_candidates(files: FunctionFiles) -> list[Path]:
    return [files.task_root / "bootstrap", files.opt / "bootstrap"]
