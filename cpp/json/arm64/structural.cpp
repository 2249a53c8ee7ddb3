// arm64 kernel: the structural index, 64 bytes per step (../generic/structural_bits.h).
#include <cstring>

#include "json/arm64/bitmanipulation.h"
#include "json/arm64/kernel.h"
#include "json/arm64/simd.h"
#include "json/scalar/kernel.h"

namespace lamina::json::arm64 {

namespace {
#include "json/generic/structural_bits.h"
}  // namespace

void index_structure(const char* data, size_t length, StructuralIndex& index) {
  // Below 32 bytes (a tiny event) the scalar loop costs less than building a block; the
  // index is the same by definition.
  if (length < 32) {
    scalar::index_structure(data, length, index);
    return;
  }
  index_structure_blocks(data, length, index);
}

}  // namespace lamina::json::arm64
