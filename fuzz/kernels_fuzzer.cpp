// libFuzzer target: the build's SIMD stage-1 kernel against the scalar one on arbitrary
// bytes (validate_utf8, index_structure, find_string_special). Plain C++, no Python: many
// more inputs per second than codec_fuzzer, on exactly the code that differs per CPU.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "json/kernel.h"

namespace {

using lamina::json::ActiveKernel;
using lamina::json::StructuralIndex;
namespace scalar = lamina::json::scalar;

template <class Kernel>
std::vector<uint32_t> tokens_of(const char* data, size_t size) {
  StructuralIndex index;
  Kernel::index_structure(data, size, index);
  return std::vector<uint32_t>(index.positions(), index.positions() + index.token_count() + 1);
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "kernels_fuzzer: scalar and %s differ in %s\n", ActiveKernel::name, what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const auto* data = reinterpret_cast<const char*>(bytes);
  if (scalar::Kernel::validate_utf8(data, size) != ActiveKernel::validate_utf8(data, size)) {
    fail("validate_utf8");
  }
  if (tokens_of<scalar::Kernel>(data, size) != tokens_of<ActiveKernel>(data, size)) {
    fail("index_structure");
  }
  for (size_t start = 0; start <= size && start < 80; start += 3) {
    bool scalar_non_ascii = false;
    bool simd_non_ascii = false;
    if (scalar::Kernel::find_string_special(data + start, data + size, scalar_non_ascii) !=
            ActiveKernel::find_string_special(data + start, data + size, simd_non_ascii) ||
        scalar_non_ascii != simd_non_ascii) {
      fail("find_string_special");
    }
  }
  return 0;
}
