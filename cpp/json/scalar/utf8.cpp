// Scalar kernel: UTF-8 validation by Unicode's table 3-7 of well-formed byte sequences.
#include <cstdint>
#include <cstring>

#include "json/scalar/kernel.h"

namespace lamina::json::scalar {

namespace {

inline bool is_continuation(unsigned char byte) noexcept { return (byte & 0xC0) == 0x80; }

}  // namespace

bool validate_utf8(const char* data, size_t length) noexcept {
  const auto* cursor = reinterpret_cast<const unsigned char*>(data);
  const auto* const limit = cursor + length;
  while (cursor < limit) {
    // Events are mostly ASCII: skip it a word at a time.
    while (limit - cursor >= 8) {
      uint64_t word;
      std::memcpy(&word, cursor, sizeof(word));
      if ((word & 0x8080808080808080ULL) != 0) {
        break;
      }
      cursor += 8;
    }
    if (cursor == limit) {
      break;
    }
    const unsigned char lead = *cursor;
    if (lead < 0x80) {
      ++cursor;
      continue;
    }
    const ptrdiff_t available = limit - cursor;
    if (lead >= 0xC2 && lead <= 0xDF) {
      if (available < 2 || !is_continuation(cursor[1])) {
        return false;
      }
      cursor += 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      if (available < 3 || !is_continuation(cursor[2])) {
        return false;
      }
      const unsigned char second = cursor[1];
      // E0 would be overlong below A0; ED would encode a surrogate from A0 on.
      const unsigned char second_low = lead == 0xE0 ? 0xA0 : 0x80;
      const unsigned char second_high = lead == 0xED ? 0x9F : 0xBF;
      if (second < second_low || second > second_high) {
        return false;
      }
      cursor += 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      if (available < 4 || !is_continuation(cursor[2]) || !is_continuation(cursor[3])) {
        return false;
      }
      const unsigned char second = cursor[1];
      // F0 would be overlong below 90; F4 goes above U+10FFFF from 90 on.
      const unsigned char second_low = lead == 0xF0 ? 0x90 : 0x80;
      const unsigned char second_high = lead == 0xF4 ? 0x8F : 0xBF;
      if (second < second_low || second > second_high) {
        return false;
      }
      cursor += 4;
    } else {
      // Stray continuation bytes, C0/C1 (always overlong) and F5..FF.
      return false;
    }
  }
  return true;
}

}  // namespace lamina::json::scalar
