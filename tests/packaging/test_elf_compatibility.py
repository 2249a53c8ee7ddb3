"""Every ELF file of lamina's own in a layer loads on Amazon Linux 2023: the right machine,
no glibc symbol version above GLIBC_2.34, no libstdc++; the x86_64 build uses AVX2
(packaging.md §1, §4). A user's Python that breaks the rule is reported, not refused."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from lamina.packaging.elf import ELF_MACHINES, avx2_instruction_count, glibc_version, lambda_violations, read_elf

ARCHITECTURES = ["x86_64", "arm64"]


def lamina_elf_files(layer) -> list[Path]:
    files = [layer.root / relative for relative in layer.report.lamina_elf_files]
    assert {path.name.split(".")[0] for path in files} >= {"_core", "context"}
    return files


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_lamina_modules_are_built_for_the_layer_architecture(make_layer, architecture):
    for path in lamina_elf_files(make_layer(architecture)):
        assert read_elf(path).machine == ELF_MACHINES[architecture], path


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_lamina_modules_need_no_glibc_above_2_34(make_layer, architecture):
    for path in lamina_elf_files(make_layer(architecture)):
        facts = read_elf(path)
        versions = [glibc_version(name) for name in facts.symbols_by_version]
        assert max(version for version in versions if version) <= (2, 34), facts.symbols_by_version
        assert lambda_violations(facts) == []


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_lamina_modules_need_no_libstdcxx(make_layer, architecture):
    for path in lamina_elf_files(make_layer(architecture)):
        facts = read_elf(path)
        assert not any(library.startswith(("libstdc++", "libgcc_s")) for library in facts.needed), facts.needed
        assert not any(name.startswith(("GLIBCXX", "CXXABI")) for name in facts.symbols_by_version)


def test_x86_64_core_contains_avx2_instructions(make_layer):
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) disassembles the module")
    core = next(path for path in lamina_elf_files(make_layer("x86_64")) if path.name.startswith("_core."))
    assert avx2_instruction_count(core) > 0


def test_a_python_that_breaks_the_rule_is_named_with_its_symbol(make_layer):
    """This machine's Python (Debian 12: glibc 2.36) needs symbols Lambda lacks: the build
    warns, naming the file and the symbol, and still writes the layer."""
    layer = make_layer("x86_64")
    libc = platform.libc_ver()
    if libc[0] != "glibc" or tuple(int(part) for part in libc[1].split(".")[:2]) <= (2, 34):
        pytest.skip(f"this machine's {libc} is old enough for Lambda: no warning to check")
    violating = [path for path in sorted(layer.root.rglob("*.so*")) if path.is_file() and _breaks_rule(path)]
    if not violating:
        pytest.skip("this machine's Python uses no symbol newer than glibc 2.34")
    assert layer.zip_path.is_file()
    for path in violating:
        relative = str(path.relative_to(layer.root))
        assert any(warning.startswith(relative + " needs GLIBC_2.") for warning in layer.report.warnings), (relative, layer.report.warnings)
    assert all("(" in warning for warning in layer.report.warnings), "each warning names the symbols"


def test_violation_names_file_version_and_symbol(tmp_path):
    """A library built here against glibc >= 2.36 with arc4random (new in 2.36)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("a C compiler builds the sample library")
    source = tmp_path / "uses_arc4random.c"
    source.write_text("#include <stdlib.h>\nunsigned draw(void) { return arc4random(); }\n")
    library = tmp_path / "libdraw.so"
    built = subprocess.run([compiler, "-shared", "-fPIC", str(source), "-o", str(library)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"this machine's glibc has no arc4random: {built.stderr[-200:]}")
    violations = lambda_violations(read_elf(library))
    assert [violation.requirement for violation in violations] == ["GLIBC_2.36"]
    assert violations[0].symbols == ("arc4random",)
    assert str(violations[0]).startswith(f"{library} needs GLIBC_2.36 (arc4random), above the glibc 2.34")


def _breaks_rule(path: Path) -> bool:
    try:
        return bool(lambda_violations(read_elf(path)))
    except ValueError:
        return False
