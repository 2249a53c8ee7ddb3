// Haswell kernel: the structural index, 64 bytes per step (../generic/structural_bits.h).
#include <cstring>

#include "json/haswell/bitmanipulation.h"
#include "json/haswell/kernel.h"
#include "json/haswell/simd.h"
#include "json/scalar/kernel.h"

namespace lamina::json::haswell {

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

}  // namespace lamina::json::haswell
