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

// Bytes [cursor, cursor + count), 0 < count < 8, as the low bytes of a word; the rest of it
// is filled with 'a' (not special, ASCII). Overlapping loads, never past the last byte.
inline uint64_t load_partial_word(const char* cursor, size_t count) noexcept {
  uint64_t word;
  if (count >= 4) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, cursor, 4);
    std::memcpy(&high, cursor + count - 4, 4);
    // The overlap holds the same bytes in both: OR keeps them.
    word = low | (static_cast<uint64_t>(high) << (8 * (count - 4)));
  } else {
    const auto byte = [cursor](size_t index) {
      return static_cast<uint64_t>(static_cast<unsigned char>(cursor[index])) << (8 * index);
    };
    word = byte(0) | byte(count / 2) | byte(count - 1);
  }
  const uint64_t filled = ~uint64_t{0} << (8 * count);
  return word | (0x6161616161616161ULL & filled);
}

// A byte of 0x80 at (at least) the lowest special byte of `word`, none below it.
inline uint64_t special_bytes(uint64_t word) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  const uint64_t quotes = word ^ (kOnes * '"');
  const uint64_t backslashes = word ^ (kOnes * '\\');
  // Each term flags the bytes that are zero (resp. below 0x20). A borrow can flag a byte
  // above a true hit but never below one, so the lowest flag is always a real hit.
  return (((quotes - kOnes) & ~quotes) | ((backslashes - kOnes) & ~backslashes) |
          ((word - kOnes * 0x20) & ~word)) &
         kHighBits;
}

inline const char* find_string_special(const char* cursor, const char* limit,
                                       bool& saw_non_ascii) noexcept {
  uint64_t seen_bits = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  while (true) {
    const auto remaining = static_cast<size_t>(limit - cursor);
    if (remaining == 0) {
      break;
    }
    uint64_t word;
    if (remaining >= 8) {
      std::memcpy(&word, cursor, sizeof(word));
    } else {
      word = load_partial_word(cursor, remaining);
    }
    const uint64_t special = special_bytes(word);
    if (special != 0) {
      const unsigned bytes_before = static_cast<unsigned>(__builtin_ctzll(special)) / 8;
      if (bytes_before != 0) {
        seen_bits |= word & (~0ULL >> (64 - 8 * bytes_before));
      }
      saw_non_ascii = saw_non_ascii || (seen_bits & kHighBits) != 0;
      return cursor + bytes_before;  // Within [cursor, limit): the filler is never special.
    }
    seen_bits |= word;
    if (remaining <= 8) {
      cursor = limit;
      break;
    }
    cursor += 8;
  }
  saw_non_ascii = saw_non_ascii || (seen_bits & kHighBits) != 0;
  return cursor;
#else
  while (cursor < limit) {
    const auto byte = static_cast<unsigned char>(*cursor);
    if (is_string_special(byte)) {
      break;
    }
    seen_bits |= byte;
    ++cursor;
  }
  saw_non_ascii = saw_non_ascii || (seen_bits & 0x80) != 0;
  return cursor;
#endif
}

}  // namespace lamina::json::scalar
