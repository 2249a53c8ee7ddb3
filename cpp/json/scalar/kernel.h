// The scalar kernel: portable C++, the reference every SIMD kernel is tested against and what
// a LAMINA_PORTABLE build runs. See ../scanner.h for the contract.
#pragma once

#include <cstddef>

#include "json/scalar/stringparsing.h"
#include "json/scanner.h"

namespace lamina::json::scalar {

bool validate_utf8(const char* data, size_t length) noexcept;                       // utf8.cpp
void index_structure(const char* data, size_t length, StructuralIndex& index);     // structural.cpp

struct Kernel {
  static constexpr const char* name = "scalar";
  static bool validate_utf8(const char* data, size_t length) noexcept {
    return scalar::validate_utf8(data, length);
  }
  static void index_structure(const char* data, size_t length, StructuralIndex& index) {
    scalar::index_structure(data, length, index);
  }
  static const char* find_string_special(const char* cursor, const char* limit,
                                         bool& saw_non_ascii) noexcept {
    return scalar::find_string_special(cursor, limit, saw_non_ascii);
  }
};

}  // namespace lamina::json::scalar
