// Haswell kernel: the string-scanning primitive, 32 bytes per step, inline because stage 2
// and the encoder call it for every string. Never reads past `limit`: the last bytes go
// through a 16-byte step and then the scalar kernel's word-at-a-time loop.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "json/scalar/stringparsing.h"

namespace lamina::json::haswell {

// Bit i set when byte i of `bytes` is '"', '\\' or below 0x20.
inline uint32_t special_mask(__m256i bytes) noexcept {
  // byte <= 0x1F exactly when min(byte, 0x1F) == byte (unsigned; no unsigned compare).
  const __m256i special = _mm256_or_si256(
      _mm256_or_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi8('"')),
                      _mm256_cmpeq_epi8(bytes, _mm256_set1_epi8('\\'))),
      _mm256_cmpeq_epi8(_mm256_min_epu8(bytes, _mm256_set1_epi8(0x1F)), bytes));
  return static_cast<uint32_t>(_mm256_movemask_epi8(special));
}

inline const char* find_string_special(const char* cursor, const char* limit,
                                       bool& saw_non_ascii) noexcept {
  __m256i seen = _mm256_setzero_si256();  // OR of every byte passed over
  if (limit - cursor >= 32) {
    // Most strings end within their first 32 bytes: that case touches nothing else.
    __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cursor));
    uint32_t special_bits = special_mask(bytes);
    if (special_bits != 0) {
      const unsigned before = _tzcnt_u32(special_bits);
      const auto high_bits = static_cast<uint32_t>(_mm256_movemask_epi8(bytes));
      saw_non_ascii = saw_non_ascii || _bzhi_u32(high_bits, before) != 0;
      return cursor + before;
    }
    seen = bytes;
    cursor += 32;
    while (limit - cursor >= 32) {
      bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cursor));
      special_bits = special_mask(bytes);
      if (special_bits != 0) {
        const unsigned before = _tzcnt_u32(special_bits);
        const auto high_bits = static_cast<uint32_t>(_mm256_movemask_epi8(bytes));
        saw_non_ascii = saw_non_ascii || _bzhi_u32(high_bits, before) != 0 ||
                        _mm256_movemask_epi8(seen) != 0;
        return cursor + before;
      }
      seen = _mm256_or_si256(seen, bytes);
      cursor += 32;
    }
  }
  if (limit - cursor >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cursor));
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')), _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))),
        _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1F)), bytes));
    const auto special_bits = static_cast<uint32_t>(_mm_movemask_epi8(special));
    const auto high_bits = static_cast<uint32_t>(_mm_movemask_epi8(bytes));
    if (special_bits != 0) {
      const unsigned before = _tzcnt_u32(special_bits);
      saw_non_ascii = saw_non_ascii || _bzhi_u32(high_bits, before) != 0 ||
                      _mm256_movemask_epi8(seen) != 0;
      return cursor + before;
    }
    saw_non_ascii = saw_non_ascii || high_bits != 0;
    cursor += 16;
  }
  saw_non_ascii = saw_non_ascii || _mm256_movemask_epi8(seen) != 0;
  return scalar::find_string_special(cursor, limit, saw_non_ascii);
}

}  // namespace lamina::json::haswell
