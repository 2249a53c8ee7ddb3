"""What an ELF file asks of the system that loads it, and whether Lambda's system has it.

Lambda's ``provided.al2023`` (Amazon Linux 2023) has glibc 2.34 and no promise about
libstdc++, so every ELF file we ship must need no glibc symbol version above ``GLIBC_2.34`` and
no ``libstdc++.so``/``GLIBCXX`` at all (../shared/spec/packaging.md). This module reads the
facts with pyelftools; it does not decide what to do about a violation.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

# Amazon Linux 2023, the OS of provided.al2023 and of the python3.12+ managed runtimes.
LAMBDA_GLIBC = (2, 34)
ELF_MACHINES = {"x86_64": "EM_X86_64", "arm64": "EM_AARCH64"}
# Bit 15 of a .gnu.version entry marks a hidden symbol; the rest is the version index.
_VERSION_INDEX_MASK = 0x7FFF
_ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class ElfFacts:
    """The loader-relevant facts of one ELF file."""

    path: Path
    machine: str  # pyelftools' name, e.g. "EM_AARCH64"
    needed: tuple[str, ...]  # DT_NEEDED, in order
    # version name ("GLIBC_2.35") -> symbols that need it, for every version the file needs
    symbols_by_version: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    """One way a file breaks the Lambda compatibility rule, in words a user can act on."""

    path: Path
    requirement: str  # "GLIBC_2.35", "GLIBCXX_3.4.30", "libstdc++.so.6"
    symbols: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.symbols[:5]) + (", ..." if len(self.symbols) > 5 else "")
        needs = f"{self.requirement} ({shown})" if self.symbols else self.requirement
        if self.requirement.startswith("GLIBC_"):
            why = f"above the glibc {LAMBDA_GLIBC[0]}.{LAMBDA_GLIBC[1]} of Lambda's Amazon Linux 2023"
        else:
            why = "the C++ runtime, which Lambda's Amazon Linux 2023 does not promise (link it statically)"
        return f"{self.path} needs {needs}, {why}"


def is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as file:
        return file.read(4) == _ELF_MAGIC


def read_elf(path: Path) -> ElfFacts:
    with path.open("rb") as file:
        try:
            elf = ELFFile(file)
        except ELFError as exc:
            raise ValueError(f"{path}: not a readable ELF file: {exc}") from exc
        dynamic = elf.get_section_by_name(".dynamic")
        needed = tuple(tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED") if dynamic else ()
        return ElfFacts(path, elf["e_machine"], needed, _symbols_by_version(elf))


def _symbols_by_version(elf: ELFFile) -> dict[str, tuple[str, ...]]:
    requirements = next((s for s in elf.iter_sections() if isinstance(s, GNUVerNeedSection)), None)
    if requirements is None:
        return {}
    version_by_index: dict[int, str] = {}
    for _library, auxiliaries in requirements.iter_versions():
        for auxiliary in auxiliaries:
            version_by_index[auxiliary["vna_other"]] = auxiliary.name
    symbols: dict[str, list[str]] = {name: [] for name in version_by_index.values()}
    versions = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
    dynamic_symbols = elf.get_section_by_name(".dynsym")
    if versions is not None and dynamic_symbols is not None:
        for index, symbol in enumerate(dynamic_symbols.iter_symbols()):
            index_entry = versions.get_symbol(index)["ndx"]
            if isinstance(index_entry, str):  # VER_NDX_LOCAL / VER_NDX_GLOBAL: unversioned
                continue
            version = version_by_index.get(index_entry & _VERSION_INDEX_MASK)
            if version is not None and symbol.name:
                symbols[version].append(symbol.name)
    return {version: tuple(sorted(names)) for version, names in symbols.items()}


def glibc_version(version_name: str) -> tuple[int, ...] | None:
    """``"GLIBC_2.35"`` -> ``(2, 35)``; None for other version names (``GLIBC_PRIVATE``, ...)."""
    match = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)+)", version_name)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def lambda_violations(facts: ElfFacts, glibc_limit: tuple[int, int] = LAMBDA_GLIBC) -> list[Violation]:
    """Why this file would fail to load on Lambda (or load only with a libstdc++ it may not find)."""
    violations = [
        Violation(facts.path, library, ()) for library in facts.needed if library.startswith("libstdc++.so")
    ]
    for version, symbols in sorted(facts.symbols_by_version.items()):
        number = glibc_version(version)
        if (number is not None and number > glibc_limit) or version.startswith(("GLIBCXX_", "CXXABI_")):
            violations.append(Violation(facts.path, version, symbols))
    return violations


def elf_files(root: Path, recursive: bool = True) -> list[Path]:
    """Every regular ELF file under root (or in it only), in a stable order."""
    return sorted(path for path in (root.rglob("*") if recursive else root.glob("*")) if is_elf(path))


# Instructions that exist only from AVX2 on: integer operations on 256-bit registers, and the
# cross-lane permutes and broadcasts AVX2 added. AVX (without 2) has only float ops on ymm.
_AVX2_ON_YMM = re.compile(r"^\s*[0-9a-f]+:\s+(vp(?!test|erm(?:il|2f))[a-z0-9]+|vinserti128|vextracti128)\s.*%ymm", re.MULTILINE)
_AVX2_ANY = re.compile(r"^\s*[0-9a-f]+:\s+(vpbroadcast[bwdq]|vperm2i128|vpermq|vpermd|vpgatherd[dq]|vpgatherq[dq])\s", re.MULTILINE)


def avx2_instruction_count(path: Path) -> int:
    """How many AVX2-only instructions binutils' disassembler finds in an x86_64 file."""
    objdump = shutil.which("objdump")
    if objdump is None:
        raise FileNotFoundError("objdump (binutils) is needed to look for AVX2 instructions")
    listing = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return len(_AVX2_ON_YMM.findall(listing)) + len(_AVX2_ANY.findall(listing))


def has_debug_info(path: Path) -> bool:
    with path.open("rb") as file:
        return any(section.name.startswith(".debug_") for section in ELFFile(file).iter_sections())
