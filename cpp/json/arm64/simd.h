// arm64 kernel: NEON registers behind the small interface the generic algorithms
// (../generic/) are written against, so the Haswell kernel runs the same code on AVX2.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

namespace lamina::json::arm64::simd {

// One register of 16 unsigned bytes.
struct Bytes {
  static constexpr size_t kSize = 16;
  uint8x16_t value;

  static Bytes zero() noexcept { return {vdupq_n_u8(0)}; }
  static Bytes splat(uint8_t byte) noexcept { return {vdupq_n_u8(byte)}; }
  static Bytes load(const uint8_t* data) noexcept { return {vld1q_u8(data)}; }
  static Bytes repeat16(const uint8_t (&table)[16]) noexcept { return {vld1q_u8(table)}; }

  Bytes operator|(Bytes other) const noexcept { return {vorrq_u8(value, other.value)}; }
  Bytes operator&(Bytes other) const noexcept { return {vandq_u8(value, other.value)}; }
  Bytes operator^(Bytes other) const noexcept { return {veorq_u8(value, other.value)}; }

  Bytes high_nibbles() const noexcept { return {vshrq_n_u8(value, 4)}; }
  // tbl gives 0 for indexes of 16 and above, so raw bytes must be masked first.
  Bytes low_nibbles() const noexcept { return {vandq_u8(value, vdupq_n_u8(0x0F))}; }
  // table[byte] for every byte of this register, each below 16.
  Bytes lookup16(Bytes table) const noexcept { return {vqtbl1q_u8(table.value, value)}; }
  Bytes saturating_sub(Bytes other) const noexcept { return {vqsubq_u8(value, other.value)}; }
  // The bytes N places before each of this register's, the last N of `previous` first.
  template <int N>
  Bytes prev(Bytes previous) const noexcept {
    return {vextq_u8(previous.value, value, 16 - N)};
  }
  bool any() const noexcept { return vmaxvq_u8(value) != 0; }
  bool is_ascii() const noexcept { return vmaxvq_u8(value) < 0x80; }
};

// Four registers of 0x00/0xFF bytes -> one bit per byte (simdjson's to_bitmask).
inline uint64_t to_bitmask(uint8x16_t m0, uint8x16_t m1, uint8x16_t m2, uint8x16_t m3) noexcept {
  const uint8x16_t bit_mask = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80,
                               0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80};
  uint8x16_t sum0 = vpaddq_u8(vandq_u8(m0, bit_mask), vandq_u8(m1, bit_mask));
  const uint8x16_t sum1 = vpaddq_u8(vandq_u8(m2, bit_mask), vandq_u8(m3, bit_mask));
  sum0 = vpaddq_u8(sum0, sum1);
  sum0 = vpaddq_u8(sum0, sum0);
  return vgetq_lane_u64(vreinterpretq_u64_u8(sum0), 0);
}

// 64 bytes, the unit of stage 1 (one bit per byte in a uint64_t).
struct Block {
  static constexpr size_t kRegisters = 64 / Bytes::kSize;
  Bytes chunks[kRegisters];

  static Block load(const uint8_t* data) noexcept {
    return {{Bytes::load(data), Bytes::load(data + 16), Bytes::load(data + 32), Bytes::load(data + 48)}};
  }
  // Eight little-endian words, in registers (no round trip through memory).
  static Block from_words(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t w4, uint64_t w5,
                          uint64_t w6, uint64_t w7) noexcept {
    const auto pair = [](uint64_t low, uint64_t high) {
      return Bytes{vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(low), vcreate_u64(high)))};
    };
    return {{pair(w0, w1), pair(w2, w3), pair(w4, w5), pair(w6, w7)}};
  }
  uint64_t eq_mask(uint8_t byte) const noexcept {
    const uint8x16_t wanted = vdupq_n_u8(byte);
    return to_bitmask(vceqq_u8(chunks[0].value, wanted), vceqq_u8(chunks[1].value, wanted),
                      vceqq_u8(chunks[2].value, wanted), vceqq_u8(chunks[3].value, wanted));
  }
  // Bytes whose class (../generic/structural_bits.h) has any of `bits`.
  static uint64_t any_bits_mask(const Bytes (&classes)[kRegisters], uint8_t bits) noexcept {
    const uint8x16_t wanted = vdupq_n_u8(bits);
    return to_bitmask(vtstq_u8(classes[0].value, wanted), vtstq_u8(classes[1].value, wanted),
                      vtstq_u8(classes[2].value, wanted), vtstq_u8(classes[3].value, wanted));
  }
  Bytes reduce_or() const noexcept { return (chunks[0] | chunks[1]) | (chunks[2] | chunks[3]); }
};

}  // namespace lamina::json::arm64::simd
