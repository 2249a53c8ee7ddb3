#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs each for a bounded time. Exits non-zero when a target finds a crash, a sanitizer
# report or an oracle disagreement; the input that did it is left in build/fuzz/artifacts/.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]       (default 45; CI runs it bounded, run it longer by hand)
#
# Needs clang and libclang-rt (Debian: apt-get install clang libclang-rt-14-dev) and the
# headers and shared library of the python3 on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-45}
repository=$(pwd)
build=$repository/build/fuzz
mkdir -p "$build/corpus/codec" "$build/corpus/kernels" "$build/artifacts"

python=${PYTHON:-python3}
read -r python_include python_libdir python_library python_home < <("$python" -c '
import sys, sysconfig
print(sysconfig.get_paths()["include"], sysconfig.get_config_var("LIBDIR"),
      sysconfig.get_config_var("LDLIBRARY").removeprefix("lib").removesuffix(".so"), sys.base_prefix)')

clang=${CLANGXX:-clang++}
case "$(uname -m)" in
  x86_64) arch_flags=(-march=haswell); kernel_sources=(cpp/json/haswell/*.cpp) ;;
  aarch64) arch_flags=(); kernel_sources=(cpp/json/arm64/*.cpp) ;;
  *) arch_flags=(-DLAMINA_PORTABLE=1); kernel_sources=() ;;
esac
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra "${arch_flags[@]}"
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icpp)

codec_sources=(cpp/json/*.cpp cpp/json/scalar/*.cpp "${kernel_sources[@]}")
echo "fuzz: building with $("$clang" --version | head -1)"
"$clang" "${flags[@]}" -I"$python_include" -DLAMINA_FUZZ_DIR="\"$repository/fuzz\"" \
  fuzz/codec_fuzzer.cpp "${codec_sources[@]}" -L"$python_libdir" -l"$python_library" \
  -Wl,-rpath,"$python_libdir" -o "$build/codec_fuzzer"
"$clang" "${flags[@]}" fuzz/kernels_fuzzer.cpp cpp/json/scalar/*.cpp "${kernel_sources[@]}" \
  -o "$build/kernels_fuzzer"

# Python's own allocations go through malloc, so ASan sees them too; CPython keeps some
# memory until exit by design, so leak reports would only be noise.
export PYTHONHOME=$python_home PYTHONMALLOC=malloc
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run() {
  local target=$1 corpus=$2
  shift 2
  echo "fuzz: $target for ${seconds}s"
  local status=0
  "$build/$target" "$corpus" "$@" -dict=fuzz/json.dict -max_total_time="$seconds" \
    -max_len=16384 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$target-" >"$build/$target.log" 2>&1 || status=$?
  grep -E '^(==[0-9]+==|SUMMARY|codec_fuzzer:|kernels_fuzzer:|AssertionError|stat::number_of_executed_units|stat::peak_rss_mb|Done|INFO: seed corpus)' \
    "$build/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$build/$target.log"
  fi
  return "$status"
}

status=0
run codec_fuzzer "$build/corpus/codec" fuzz/seeds || status=1
run kernels_fuzzer "$build/corpus/kernels" fuzz/seeds || status=1
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED, see $build/*.log and $build/artifacts/"
else
  echo "fuzz: no crash"
fi
exit "$status"
