// Haswell kernel: AVX2 registers behind the small interface the generic algorithms
// (../generic/) are written against, so the arm64 kernel runs the same code on NEON.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace lamina::json::haswell::simd {

// One register of 32 unsigned bytes.
struct Bytes {
  static constexpr size_t kSize = 32;
  __m256i value;

  static Bytes zero() noexcept { return {_mm256_setzero_si256()}; }
  static Bytes splat(uint8_t byte) noexcept { return {_mm256_set1_epi8(static_cast<char>(byte))}; }
  static Bytes load(const uint8_t* data) noexcept {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data))};
  }
  // The same 16 bytes in both 128-bit lanes: a table for lookup16.
  static Bytes repeat16(const uint8_t (&table)[16]) noexcept {
    const __m128i lane = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
    return {_mm256_broadcastsi128_si256(lane)};
  }

  Bytes operator|(Bytes other) const noexcept { return {_mm256_or_si256(value, other.value)}; }
  Bytes operator&(Bytes other) const noexcept { return {_mm256_and_si256(value, other.value)}; }
  Bytes operator^(Bytes other) const noexcept { return {_mm256_xor_si256(value, other.value)}; }

  Bytes high_nibbles() const noexcept {
    return {_mm256_and_si256(_mm256_srli_epi16(value, 4), _mm256_set1_epi8(0x0F))};
  }
  // vpshufb reads the low four bits of each index (and gives 0 when its top bit is set), so a
  // raw byte indexes by its low nibble with no masking; callers mask for NEON's sake anyway.
  Bytes low_nibbles() const noexcept { return {_mm256_and_si256(value, _mm256_set1_epi8(0x0F))}; }
  // table[byte] for every byte of this register, each below 16.
  Bytes lookup16(Bytes table) const noexcept { return {_mm256_shuffle_epi8(table.value, value)}; }
  Bytes saturating_sub(Bytes other) const noexcept { return {_mm256_subs_epu8(value, other.value)}; }
  // This register shifted N bytes towards higher addresses, the last N bytes of `previous`
  // coming in first: the bytes N places before each of this register's.
  template <int N>
  Bytes prev(Bytes previous) const noexcept {
    const __m256i straddle = _mm256_permute2x128_si256(previous.value, value, 0x21);
    return {_mm256_alignr_epi8(value, straddle, 16 - N)};
  }
  bool any() const noexcept { return !_mm256_testz_si256(value, value); }
  bool is_ascii() const noexcept { return _mm256_movemask_epi8(value) == 0; }
  // One bit per byte: set where the byte equals `byte`.
  uint32_t eq_mask(uint8_t byte) const noexcept {
    return static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(value, _mm256_set1_epi8(static_cast<char>(byte)))));
  }
  // One bit per byte: set where (byte & bits) != 0.
  uint32_t any_bits_mask(uint8_t bits) const noexcept {
    const __m256i masked = _mm256_and_si256(value, _mm256_set1_epi8(static_cast<char>(bits)));
    return ~static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(masked, _mm256_setzero_si256())));
  }
};

// 64 bytes, the unit of stage 1 (one bit per byte in a uint64_t).
struct Block {
  static constexpr size_t kRegisters = 64 / Bytes::kSize;
  Bytes chunks[kRegisters];

  static Block load(const uint8_t* data) noexcept {
    return {{Bytes::load(data), Bytes::load(data + 32)}};
  }
  // Eight little-endian words, in registers (no round trip through memory).
  static Block from_words(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t w4, uint64_t w5,
                          uint64_t w6, uint64_t w7) noexcept {
    const auto pair = [](uint64_t low, uint64_t high) {
      return _mm_unpacklo_epi64(_mm_cvtsi64_si128(static_cast<long long>(low)),
                                _mm_cvtsi64_si128(static_cast<long long>(high)));
    };
    return {{Bytes{_mm256_set_m128i(pair(w2, w3), pair(w0, w1))},
             Bytes{_mm256_set_m128i(pair(w6, w7), pair(w4, w5))}}};
  }
  uint64_t eq_mask(uint8_t byte) const noexcept {
    return chunks[0].eq_mask(byte) | (static_cast<uint64_t>(chunks[1].eq_mask(byte)) << 32);
  }
  // Bytes whose class (see classify in ../generic/structural_bits.h) has any of `bits`.
  static uint64_t any_bits_mask(const Bytes (&classes)[kRegisters], uint8_t bits) noexcept {
    return classes[0].any_bits_mask(bits) |
           (static_cast<uint64_t>(classes[1].any_bits_mask(bits)) << 32);
  }
  Bytes reduce_or() const noexcept { return chunks[0] | chunks[1]; }
};

}  // namespace lamina::json::haswell::simd
