// arm64 kernel: the string-scanning primitive, 16 bytes per step, inline because stage 2
// and the encoder call it for every string. Never reads past `limit`: the last bytes go
// through the scalar kernel's word-at-a-time loop.
#pragma once

#include <arm_neon.h>

#include <cstdint>

#include "json/scalar/stringparsing.h"

namespace lamina::json::arm64 {

inline const char* find_string_special(const char* cursor, const char* limit,
                                       bool& saw_non_ascii) noexcept {
  uint8x16_t seen = vdupq_n_u8(0);  // OR of every byte passed over
  const uint8x16_t quote = vdupq_n_u8('"');
  const uint8x16_t backslash = vdupq_n_u8('\\');
  const uint8x16_t control_end = vdupq_n_u8(0x20);
  while (limit - cursor >= 16) {
    const uint8x16_t bytes = vld1q_u8(reinterpret_cast<const uint8_t*>(cursor));
    const uint8x16_t special = vorrq_u8(vorrq_u8(vceqq_u8(bytes, quote), vceqq_u8(bytes, backslash)),
                                        vcltq_u8(bytes, control_end));
    // Four bits per byte (shift-right-and-narrow): NEON has no movemask.
    const uint64_t special_nibbles =
        vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(special), 4)), 0);
    if (special_nibbles != 0) {
      const int before = __builtin_ctzll(special_nibbles) / 4;
      // Bytes before the special one: keep them in `seen` by zeroing the rest.
      const uint8x16_t index = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
      const uint8x16_t passed_over = vandq_u8(bytes, vcltq_u8(index, vdupq_n_u8(static_cast<uint8_t>(before))));
      seen = vorrq_u8(seen, passed_over);
      saw_non_ascii = saw_non_ascii || vmaxvq_u8(seen) >= 0x80;
      return cursor + before;
    }
    seen = vorrq_u8(seen, bytes);
    cursor += 16;
  }
  saw_non_ascii = saw_non_ascii || vmaxvq_u8(seen) >= 0x80;
  return scalar::find_string_special(cursor, limit, saw_non_ascii);
}

}  // namespace lamina::json::arm64
