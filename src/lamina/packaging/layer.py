"""``lamina layer build``: a Lambda layer zip with lamina for one architecture.

Two flavors (../shared/spec/packaging.md):

- ``provided`` (provided.al2023): ``bootstrap``, the CPython in ``bin/`` and ``lib/``, lamina in
  ``lib/python3.X/site-packages``, the libraries the interpreter links (glibc excepted) in
  ``lib/``.
- ``managed`` (python3.11-3.14 runtimes): lamina in ``python/`` and ``lamina-wrapper``, for
  ``AWS_LAMBDA_EXEC_WRAPPER=/opt/lamina-wrapper``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lamina.packaging import bytecode, numpy_wheels
from lamina.packaging.elf import elf_files, lambda_violations, read_elf
from lamina.packaging.lamina_package import copy_lamina
from lamina.packaging.native_build import build_native_modules, find_source_tree
from lamina.packaging.python_dist import PythonDistribution, open_python_distribution
from lamina.packaging.python_tree import copy_python, strip_debug_info
from lamina.packaging.reproducible_zip import write_reproducible_zip
from lamina.packaging.shared_libraries import copy_needed_libraries, system_library_dirs

logger = logging.getLogger(__name__)

ARCHITECTURES = ("x86_64", "arm64")
FLAVORS = ("provided", "managed")
MANAGED_PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
LAYER_ROOT = "/opt"  # where Lambda extracts every layer


class LayerError(RuntimeError):
    """The layer cannot be built as asked; the message says why."""


@dataclass(frozen=True)
class LayerRequest:
    architecture: str
    output: Path
    python_dist: Path | None = None  # None: this machine's own Python
    flavor: str = "provided"
    python_version: str | None = None  # managed: the runtime's version, checked against the dist
    numpy: str | None = None  # a requirement such as "numpy>=1.24"; None leaves numpy out
    source: Path | None = None  # a lamina checkout; found when None
    build_dir: Path | None = None  # native build cache; <source>/build/layer when None
    library_dirs: tuple[Path, ...] = ()  # more places to find the interpreter's libraries


@dataclass
class LayerReport:
    output: Path
    python: PythonDistribution
    lamina_elf_files: list[str]  # paths in the layer of lamina's own native modules
    warnings: list[str] = field(default_factory=list)


def build_layer(request: LayerRequest) -> LayerReport:
    if request.architecture not in ARCHITECTURES:
        raise LayerError(f"--arch must be one of {', '.join(ARCHITECTURES)}")
    if request.flavor not in FLAVORS:
        raise LayerError(f"--flavor must be one of {', '.join(FLAVORS)}")
    source = find_source_tree(request.source)
    with tempfile.TemporaryDirectory(prefix="lamina-layer-") as scratch_name:
        scratch = Path(scratch_name)
        python = _target_python(request, scratch)
        build_dir = (request.build_dir or source / "build" / "layer") / f"{python.architecture}-{python.soabi}"
        native = build_native_modules(source, python, build_dir)
        tree = scratch / "layer"
        if request.flavor == "provided":
            report = _provided_tree(request, source, python, native, tree, scratch)
        else:
            report = _managed_tree(request, source, python, native, tree, scratch)
        write_reproducible_zip(tree, request.output)
    for warning in report.warnings:
        logger.warning("%s", warning)
    return report


def _target_python(request: LayerRequest, scratch: Path) -> PythonDistribution:
    python = open_python_distribution(request.python_dist or Path(sys.base_prefix), scratch)
    if python.architecture != request.architecture:
        where = request.python_dist or f"this machine's Python ({sys.base_prefix})"
        raise LayerError(f"{where} is {python.architecture}, not {request.architecture}: pass --python-dist for {request.architecture}")
    if request.python_version and request.python_version != f"{python.version[0]}.{python.version[1]}":
        raise LayerError(f"--python {request.python_version} but {python.prefix} is {python.name}: pass --python-dist with that version")
    return python


def _provided_tree(request, source, python, native, tree: Path, scratch: Path) -> LayerReport:
    python_elf_files = copy_python(python, tree)
    site_packages = tree / "lib" / python.name / "site-packages"
    lamina_modules = copy_lamina(source, native, site_packages)
    third_party = _add_numpy(request, python, site_packages, scratch)
    missing = copy_needed_libraries(
        python_elf_files,
        tree / "lib",
        [*python.library_dirs, *request.library_dirs, *system_library_dirs(python.architecture)],
        python.architecture,
    )
    interpreter_files = [*python_elf_files, *elf_files(tree / "lib", recursive=False)]
    if not strip_debug_info(interpreter_files, python.architecture):
        logger.info("no strip tool for %s here: the interpreter keeps its debug information", python.architecture)
    _write_launcher(source / "layers" / "provided" / "bootstrap", tree / "bootstrap", {"@PYTHON_NAME@": python.name})
    (tree / "python").mkdir()  # /opt/python: other layers' packages (on the bootstrap's path)
    _compile_bytecode(python, tree / "lib" / python.name, f"{LAYER_ROOT}/lib/{python.name}")
    report = _check_compatibility(tree, python, lamina_modules, exclude=third_party)
    report.output = request.output
    report.warnings[:0] = [f"the interpreter needs {line}, found nowhere: pass --library-path DIR" for line in missing]
    return report


def _managed_tree(request, source, python, native, tree: Path, scratch: Path) -> LayerReport:
    site_packages = tree / "python"  # on sys.path of every managed Python runtime
    lamina_modules = copy_lamina(source, native, site_packages)
    third_party = _add_numpy(request, python, site_packages, scratch)
    _write_launcher(source / "layers" / "managed" / "lamina-wrapper", tree / "lamina-wrapper", {})
    _compile_bytecode(python, site_packages, f"{LAYER_ROOT}/python")
    report = _check_compatibility(tree, python, lamina_modules, exclude=third_party)
    report.output = request.output
    return report


def _add_numpy(request: LayerRequest, python: PythonDistribution, site_packages: Path, scratch: Path) -> list[Path]:
    """Installs numpy when asked; returns its folders (manylinux-built: not ours to check)."""
    if not request.numpy:
        return []
    downloads = scratch / "wheels"
    downloads.mkdir()
    numpy_wheels.install_wheel(numpy_wheels.download_wheel(request.numpy, python, downloads), site_packages)
    return [path for path in site_packages.iterdir() if path.name.startswith("numpy")]


def _write_launcher(template: Path, destination: Path, replacements: dict[str, str]) -> None:
    text = template.read_text()
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    destination.write_text(text)
    destination.chmod(0o755)


def _compile_bytecode(python: PythonDistribution, tree: Path, recorded_as: str) -> None:
    compiler = bytecode.bytecode_compiler(python.version)
    if compiler is None:
        logger.warning(
            "no %s on this machine to precompile the layer's bytecode: each cold start will compile "
            "what it imports (install %s here, or build the layer on a machine that has it)", python.name, python.name
        )
        return
    bytecode.compile_tree(compiler, tree, recorded_as)


def _check_compatibility(tree: Path, python: PythonDistribution, lamina_modules: list[Path], exclude: list[Path]) -> LayerReport:
    """lamina's own files must pass the rule (a failure is our bug); the given Python's files
    that break it are reported as warnings: the user chose that Python."""
    for module in lamina_modules:
        violations = lambda_violations(read_elf(module))
        if violations:
            raise LayerError("lamina's native module breaks the Lambda compatibility rule: " + "; ".join(map(str, violations)))
    own = set(lamina_modules)
    warnings = []
    for path in elf_files(tree):
        if path in own or any(folder in path.parents for folder in exclude):
            continue
        for violation in lambda_violations(read_elf(path)):
            violation_text = str(violation).replace(str(tree) + "/", "")
            warnings.append(f"{violation_text}: use a Python built for glibc <= 2.34 (python-build-standalone)")
    return LayerReport(Path(), python, [str(path.relative_to(tree)) for path in lamina_modules], warnings)
