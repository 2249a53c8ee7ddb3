// Scalar kernel: the string-scanning primitive, inline because stage 2 and the encoder call
// it for every string. Word-at-a-time (SWAR) on little-endian machines, byte-at-a-time
// otherwise; no SIMD instructions.
#pragma once

#include <cstdint>
#include <cstring>

namespace lamina::json::scalar {

inline bool is_string_special(unsigned char byte) noexcept {
  return byte == '"' || byte == '\\' || byte < 0x20;
}

inline const char* find_string_special(const char* cursor, const char* limit,
                                       bool& saw_non_ascii) noexcept {
  uint64_t seen_bits = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  while (limit - cursor >= 8) {
    uint64_t word;
    std::memcpy(&word, cursor, sizeof(word));
    const uint64_t quotes = word ^ (kOnes * '"');
    const uint64_t backslashes = word ^ (kOnes * '\\');
    // Each term flags the bytes that are zero (resp. below 0x20). A borrow can flag a byte
    // above a true hit but never below one, so the lowest flag is always a real hit.
    const uint64_t special = (((quotes - kOnes) & ~quotes) | ((backslashes - kOnes) & ~backslashes) |
                              ((word - kOnes * 0x20) & ~word)) &
                             kHighBits;
    if (special != 0) {
      const unsigned bytes_before = static_cast<unsigned>(__builtin_ctzll(special)) / 8;
      if (bytes_before != 0) {
        seen_bits |= word & (~0ULL >> (64 - 8 * bytes_before));
      }
      cursor += bytes_before;
      saw_non_ascii = saw_non_ascii || (seen_bits & kHighBits) != 0;
      return cursor;
    }
    seen_bits |= word;
    cursor += 8;
  }
#endif
  while (cursor < limit) {
    const auto byte = static_cast<unsigned char>(*cursor);
    if (is_string_special(byte)) {
      break;
    }
    seen_bits |= byte;
    ++cursor;
  }
  saw_non_ascii = saw_non_ascii || (seen_bits & 0x8080808080808080ULL) != 0;
  return cursor;
}

}  // namespace lamina::json::scalar
