// The arm64 kernel: NEON, which every AArch64 CPU has (Lambda's Graviton fleet), so it
// needs no compiler flag. Compiled only for aarch64 builds. See ../scanner.h for the
// contract; ../scalar/ is the reference it is tested against.
#pragma once

#include <cstddef>

#include "json/arm64/stringparsing.h"
#include "json/scanner.h"

namespace lamina::json::arm64 {

bool validate_utf8(const char* data, size_t length) noexcept;                    // utf8.cpp
void index_structure(const char* data, size_t length, StructuralIndex& index);  // structural.cpp

struct Kernel {
  static constexpr const char* name = "arm64";
  static bool validate_utf8(const char* data, size_t length) noexcept {
    return arm64::validate_utf8(data, length);
  }
  static void index_structure(const char* data, size_t length, StructuralIndex& index) {
    arm64::index_structure(data, length, index);
  }
  static const char* find_string_special(const char* cursor, const char* limit,
                                         bool& saw_non_ascii) noexcept {
    return arm64::find_string_special(cursor, limit, saw_non_ascii);
  }
};

}  // namespace lamina::json::arm64
