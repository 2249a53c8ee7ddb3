"""Every SIMD stage-1 kernel against the scalar reference (../shared/spec/codec.md, "SIMD and
architectures"): the build's own kernel through lamina._core._json_kernels, the same kernel
as a standalone program, and the arm64 kernel cross-compiled and run under qemu."""

from __future__ import annotations

import os
import platform
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina import _core
from lamina._core import _json_kernels as kernels

REPOSITORY = Path(__file__).resolve().parents[2]
CPP = REPOSITORY / "cpp"
COMPARISON_PROGRAM = Path(__file__).with_name("kernel_comparison.cpp")
IN_CI = os.environ.get("CI") == "true"
SIMD_KERNELS = [name for name in kernels.available if name != "scalar"]
IS_X86_64 = platform.machine() in ("x86_64", "AMD64")

needs_simd_kernel = pytest.mark.skipif(not SIMD_KERNELS, reason="portable build: only the scalar kernel")

# Bytes where a kernel takes a decision (same list as kernel_comparison.cpp).
INTERESTING = [
    b'"', b"\\", b'\\"', b'\\\\"', b"{", b"}", b"[", b"]", b":", b",", b" ", b"\t", b"\n", b"\r",
    b"\x00", b"\x0c", b"\x1a", b"\x1f", b"\x7f", b"a", b"1", "é".encode(), "€".encode(),
    "𝄞".encode(), b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf5", b"\xff",
    b"\xe2\x82", b"\xf0\x9f\x98",
]
BACKGROUNDS = [b"a", b" ", b'"', b"1", b",", "é".encode()]


def outputs(data: bytes, kernel: str, starts: range) -> tuple:
    return (
        kernels.validate_utf8(data, kernel),
        kernels.index_structure(data, kernel),
        [kernels.find_string_special(data, start, kernel) for start in starts],
    )


def assert_same_as_scalar(data: bytes, starts: range | None = None) -> None:
    starts = starts if starts is not None else range(0, len(data) + 1, 7)
    reference = outputs(data, "scalar", starts)
    for kernel in SIMD_KERNELS:
        assert outputs(data, kernel, starts) == reference, (kernel, data)


def test_the_build_uses_the_simd_kernel_of_its_architecture() -> None:
    expected = {"x86_64": "haswell", "AMD64": "haswell", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "scalar")
    if kernels.portable_build:
        expected = "scalar"
    assert kernels.active == expected
    assert kernels.available[0] == "scalar"


def test_scalar_index_follows_the_contract() -> None:
    # Opening quotes, structure and run starts; escaped quotes do not close strings, and
    # outside strings they are garbage inside a run.
    assert kernels.index_structure(b'{"a\\"b": [1, true,x]}', "scalar") == [0, 1, 7, 9, 10, 11, 13, 17, 18, 19, 20, 21]
    assert kernels.index_structure(b'\\"1" 2', "scalar") == [0, 3, 6]  # the string runs to the end
    assert kernels.index_structure(b'\\\\"1" 2', "scalar") == [0, 2, 6, 7]
    assert kernels.index_structure(b'"abc', "scalar") == [0, 4]


@needs_simd_kernel
@pytest.mark.parametrize("background", BACKGROUNDS, ids=repr)
def test_interesting_bytes_at_every_position_of_a_block(background: bytes) -> None:
    for sequence in INTERESTING:
        for position in range(0, 66):
            for length in (position + len(sequence), 64, 96):
                if length < position + len(sequence):
                    continue
                data = bytearray((background * length)[:length])
                data[position : position + len(sequence)] = sequence
                assert_same_as_scalar(bytes(data))
                assert_same_as_scalar(b'"' + bytes(data))


@needs_simd_kernel
def test_inputs_ending_at_every_length_around_blocks() -> None:
    document = b'{"key": [1, 2.5e3, "x\\\\\\"y", null], "\xc3\xa9": true}' * 4
    for length in range(0, len(document) + 1):
        assert_same_as_scalar(document[:length])


@needs_simd_kernel
def test_long_backslash_runs_across_block_boundaries() -> None:
    for run in range(0, 140):
        for start in (0, 1, 30, 31, 32, 33, 62, 63, 64, 65):
            backslashes = b"\\" * run
            assert_same_as_scalar(b'"' + b"x" * start + backslashes + b'"x","y"]', starts=range(0))
            assert_same_as_scalar(b" " * start + backslashes + b'"1" :[2]', starts=range(0))


@needs_simd_kernel
@settings(max_examples=400, deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
), indent=st.sampled_from([None, 2]))
def test_generated_documents_index_as_the_scalar_kernel_does(value, indent) -> None:
    import json

    document = json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8", "surrogatepass")
    assert_same_as_scalar(document)


@needs_simd_kernel
@settings(max_examples=400, deadline=None)
@given(data=st.lists(st.sampled_from(INTERESTING + [b"abcdefgh" * 5, b"   ", b"12345"]), max_size=60).map(b"".join))
def test_generated_byte_soup_gives_the_same_outputs(data: bytes) -> None:
    assert_same_as_scalar(data, starts=range(len(data) + 1))


@needs_simd_kernel
def test_random_bytes_give_the_same_outputs() -> None:
    generator = random.Random(5)
    for _ in range(3000):
        data = bytes(generator.randrange(256) for _ in range(generator.randrange(200)))
        assert_same_as_scalar(data)


def test_utf8_validation_agrees_with_python_on_every_kernel() -> None:
    generator = random.Random(3)
    pieces = [bytes([byte]) for byte in range(0x78, 0x100)] + ["é€𝄞".encode(), b"a" * 40]
    for _ in range(5000):
        data = b"".join(generator.choice(pieces) for _ in range(generator.randrange(30)))
        try:
            data.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        for kernel in kernels.available:
            assert kernels.validate_utf8(data, kernel) is valid, (kernel, data)


def test_an_unknown_kernel_name_is_an_error() -> None:
    with pytest.raises(ValueError):
        kernels.index_structure(b"[]", "pentium")


def build_comparison_program(compiler: str, flags: list[str], kernel_folder: str, output: Path) -> None:
    sources = sorted(str(path) for path in (CPP / "json" / "scalar").glob("*.cpp"))
    sources += sorted(str(path) for path in (CPP / "json" / kernel_folder).glob("*.cpp"))
    command = [compiler, "-O2", "-std=c++17", "-Wall", "-Wextra", "-Werror", *flags, f"-I{CPP}",
               str(COMPARISON_PROGRAM), *sources, "-o", str(output)]
    subprocess.run(command, check=True, capture_output=True, text=True)


def missing_tool(*tools: str) -> str | None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return None
    message = f"{', '.join(missing)} not installed (apt-get install g++-aarch64-linux-gnu qemu-user)"
    if IN_CI:
        pytest.fail(f"CI must run this test: {message}")
    return message


@pytest.mark.skipif(not IS_X86_64, reason="the Haswell kernel is x86_64 only")
def test_haswell_kernel_matches_scalar_in_the_standalone_program(tmp_path: Path) -> None:
    if reason := missing_tool("g++"):
        pytest.skip(reason)
    program = tmp_path / "kernel_comparison"
    build_comparison_program("g++", ["-march=haswell"], "haswell", program)
    result = subprocess.run([str(program)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "scalar against haswell" in result.stdout


def test_arm64_kernel_matches_scalar_under_qemu(tmp_path: Path) -> None:
    if reason := missing_tool("aarch64-linux-gnu-g++", "qemu-aarch64"):
        pytest.skip(reason)
    program = tmp_path / "kernel_comparison_arm64"
    # Static, so qemu needs no arm64 libraries and no binfmt_misc registration.
    build_comparison_program("aarch64-linux-gnu-g++", ["-static"], "arm64", program)
    result = subprocess.run(["qemu-aarch64", str(program)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "scalar against arm64" in result.stdout


@pytest.mark.skipif(not IS_X86_64, reason="x86_64 only")
@pytest.mark.skipif(kernels.portable_build, reason="LAMINA_PORTABLE build: scalar kernel on purpose")
def test_x86_64_extension_contains_avx2_instructions() -> None:
    if reason := missing_tool("objdump"):
        pytest.skip(reason)
    disassembly = subprocess.run(["objdump", "-d", "--no-show-raw-insn", _core.__file__],
                                 capture_output=True, text=True, check=True).stdout
    avx2_lines = [line for line in disassembly.splitlines() if "%ymm" in line]
    assert any("vpcmpeqb" in line for line in avx2_lines)
    assert any("vpshufb" in line for line in avx2_lines)
    assert any("clmul" in line for line in disassembly.splitlines())  # prefix_xor
    assert kernels.active == "haswell"
