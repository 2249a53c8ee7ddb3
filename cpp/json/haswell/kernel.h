// The Haswell kernel: AVX2 (with BMI and PCLMULQDQ), what x86_64 builds use; Lambda's
// x86_64 fleet has all of it. Compiled only with -march=haswell. See ../scanner.h for the
// contract; ../scalar/ is the reference it is tested against.
#pragma once

#include <cstddef>

#include "json/haswell/stringparsing.h"
#include "json/scanner.h"

namespace lamina::json::haswell {

bool validate_utf8(const char* data, size_t length) noexcept;                    // utf8.cpp
void index_structure(const char* data, size_t length, StructuralIndex& index);  // structural.cpp

struct Kernel {
  static constexpr const char* name = "haswell";
  static bool validate_utf8(const char* data, size_t length) noexcept {
    return haswell::validate_utf8(data, length);
  }
  static void index_structure(const char* data, size_t length, StructuralIndex& index) {
    haswell::index_structure(data, length, index);
  }
  static const char* find_string_special(const char* cursor, const char* limit,
                                         bool& saw_non_ascii) noexcept {
    return haswell::find_string_special(cursor, limit, saw_non_ascii);
  }
};

}  // namespace lamina::json::haswell
