// Haswell kernel: UTF-8 validation, 64 bytes per step (../generic/utf8_lookup.h).
#include <cstring>

#include "json/haswell/bitmanipulation.h"
#include "json/haswell/kernel.h"
#include "json/haswell/simd.h"
#include "json/scalar/kernel.h"

namespace lamina::json::haswell {

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

}  // namespace lamina::json::haswell
