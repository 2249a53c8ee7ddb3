// arm64 kernel: UTF-8 validation, 64 bytes per step (../generic/utf8_lookup.h).
#include <cstring>

#include "json/arm64/bitmanipulation.h"
#include "json/arm64/kernel.h"
#include "json/arm64/simd.h"
#include "json/scalar/kernel.h"

namespace lamina::json::arm64 {

namespace {
#include "json/generic/structural_bits.h"  // load_short_block
#include "json/generic/utf8_lookup.h"
}  // namespace

bool validate_utf8(const char* data, size_t length) noexcept {
  // Below 32 bytes the scalar loop (a word at a time over ASCII) costs less.
  if (length < 32) {
    return scalar::validate_utf8(data, length);
  }
  return validate_utf8_blocks(data, length);
}

}  // namespace lamina::json::arm64
