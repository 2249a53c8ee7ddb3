// Haswell kernel: bit operations on the 64-bit masks of a block (BMI1/BMI2, PCLMULQDQ).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace lamina::json::haswell {

// Bit i is the XOR of bits 0..i: with quote bits in, the bytes from an opening quote up to
// (not including) its closing one. One carry-less multiplication by all ones.
inline uint64_t prefix_xor(uint64_t bits) noexcept {
  const __m128i all_ones = _mm_set1_epi8(static_cast<char>(0xFF));
  const __m128i result = _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<int64_t>(bits)), all_ones, 0);
  return static_cast<uint64_t>(_mm_cvtsi128_si64(result));
}

// Number of zero bits below the lowest set bit; 64 for 0 (tzcnt defines it).
inline int trailing_zeroes(uint64_t bits) noexcept { return static_cast<int>(_tzcnt_u64(bits)); }

inline int count_ones(uint64_t bits) noexcept { return static_cast<int>(_mm_popcnt_u64(bits)); }

}  // namespace lamina::json::haswell
