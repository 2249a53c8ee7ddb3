// arm64 kernel: bit operations on the 64-bit masks of a block.
#pragma once

#include <cstdint>

namespace lamina::json::arm64 {

// Bit i is the XOR of bits 0..i: with quote bits in, the bytes from an opening quote up to
// (not including) its closing one. Shifts rather than vmull_p64, which needs the crypto
// extension that baseline ARMv8 does not promise.
inline uint64_t prefix_xor(uint64_t bits) noexcept {
  bits ^= bits << 1;
  bits ^= bits << 2;
  bits ^= bits << 4;
  bits ^= bits << 8;
  bits ^= bits << 16;
  bits ^= bits << 32;
  return bits;
}

// Number of zero bits below the lowest set bit; 63 for 0 (never used: write_positions only
// looks past the last bit for slots it will not keep), without the undefined ctz(0).
inline int trailing_zeroes(uint64_t bits) noexcept {
  return __builtin_ctzll(bits | 0x8000000000000000ULL);
}

inline int count_ones(uint64_t bits) noexcept { return __builtin_popcountll(bits); }

}  // namespace lamina::json::arm64
