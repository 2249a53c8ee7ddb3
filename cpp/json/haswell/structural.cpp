// Haswell kernel: the structural index, 64 bytes per step (../generic/structural_bits.h).
#include <cstring>

#include "json/haswell/bitmanipulation.h"
#include "json/haswell/kernel.h"
#include "json/scalar/kernel.h"
#include "json/haswell/simd.h"

namespace lamina::json::haswell {

namespace {
#include "json/generic/structural_bits.h"
}  // namespace

void index_structure(const char* data, size_t length, StructuralIndex& index) {
  // Below one block the scalar loop is faster than padding a block, and gives the same
  // index by definition.
  if (length < 64) {
    scalar::index_structure(data, length, index);
    return;
  }
  index_structure_blocks(data, length, index);
}

}  // namespace lamina::json::haswell
