// UTF-8 validation on 64-byte blocks, written once for every SIMD kernel: the lookup
// algorithm of Keiser and Lemire ("Validating UTF-8 in less than one instruction per byte",
// 2021, as in simdjson). Included inside a kernel's namespace after its simd.h; no include
// guard on purpose.
//
// Each byte is checked against the one before it with three 16-entry tables (its high
// nibble, the previous byte's high and low nibbles); a bit set in all three names an error.
// Whether a byte must be the second or third continuation comes from the bytes two and
// three places back. ASCII blocks skip all of it.
class Utf8Checker {
 public:
  Utf8Checker() noexcept
      : error_(simd::Bytes::zero()),
        previous_(simd::Bytes::zero()),
        previous_incomplete_(simd::Bytes::zero()),
        byte_1_high_(simd::Bytes::repeat16(kByte1High)),
        byte_1_low_(simd::Bytes::repeat16(kByte1Low)),
        byte_2_high_(simd::Bytes::repeat16(kByte2High)),
        incomplete_limit_(simd::Bytes::load(kIncompleteLimit + sizeof(kIncompleteLimit) - simd::Bytes::kSize)) {}

  void check_block(const simd::Block& block) noexcept {
    if (block.reduce_or().is_ascii()) {
      // A sequence the previous block left unfinished is an error; nothing carries on.
      check_ascii_bytes();
      return;
    }
    for (const simd::Bytes& chunk : block.chunks) {
      check_bytes(chunk, previous_);
      previous_ = chunk;
    }
    // The block's last bytes start sequences longer than what is left of it.
    previous_incomplete_ = previous_.saturating_sub(incomplete_limit_);
  }

  // Bytes known to be ASCII follow (what check_block does for an ASCII block).
  void check_ascii_bytes() noexcept {
    error_ = error_ | previous_incomplete_;
    previous_ = simd::Bytes::zero();
    previous_incomplete_ = simd::Bytes::zero();
  }

  bool finish() noexcept {
    error_ = error_ | previous_incomplete_;
    return !error_.any();
  }

 private:
  static constexpr uint8_t kTooShort = 1 << 0;   // 11______ 0_______ / 11______ 11______
  static constexpr uint8_t kTooLong = 1 << 1;    // 0_______ 10______
  static constexpr uint8_t kOverlong3 = 1 << 2;  // 11100000 100_____
  static constexpr uint8_t kTooLarge = 1 << 3;   // 11110100 1001____ and above U+10FFFF
  static constexpr uint8_t kSurrogate = 1 << 4;  // 11101101 101_____
  static constexpr uint8_t kOverlong2 = 1 << 5;  // 1100000_ 10______
  static constexpr uint8_t kTooLarge1000 = 1 << 6;  // 11110101 1000____ and above
  static constexpr uint8_t kOverlong4 = 1 << 6;     // 11110000 1000____
  static constexpr uint8_t kTwoContinuations = 1 << 7;  // 10______ 10______
  // Errors decided by the first byte's high nibble alone.
  static constexpr uint8_t kCarry = kTooShort | kTooLong | kTwoContinuations;

  static constexpr uint8_t kByte1High[16] = {
      // 0_______ ________: ASCII first
      kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong,
      // 10______ ________: continuation first
      kTwoContinuations, kTwoContinuations, kTwoContinuations, kTwoContinuations,
      kTooShort | kOverlong2,                           // 1100____ ________
      kTooShort,                                        // 1101____ ________
      kTooShort | kOverlong3 | kSurrogate,              // 1110____ ________
      kTooShort | kTooLarge | kTooLarge1000 | kOverlong4  // 1111____ ________
  };
  static constexpr uint8_t kByte1Low[16] = {
      kCarry | kOverlong3 | kOverlong2 | kOverlong4,   // ____0000 ________
      kCarry | kOverlong2,                             // ____0001 ________
      kCarry,                                          // ____001_ ________
      kCarry,
      kCarry | kTooLarge,                              // ____0100 ________
      kCarry | kTooLarge | kTooLarge1000,              // ____0101 ________
      kCarry | kTooLarge | kTooLarge1000,              // ____011_ ________
      kCarry | kTooLarge | kTooLarge1000,
      kCarry | kTooLarge | kTooLarge1000,              // ____1___ ________
      kCarry | kTooLarge | kTooLarge1000,
      kCarry | kTooLarge | kTooLarge1000,
      kCarry | kTooLarge | kTooLarge1000,
      kCarry | kTooLarge | kTooLarge1000,
      kCarry | kTooLarge | kTooLarge1000 | kSurrogate, // ____1101 ________
      kCarry | kTooLarge | kTooLarge1000,
      kCarry | kTooLarge | kTooLarge1000,
  };
  static constexpr uint8_t kByte2High[16] = {
      // ________ 0_______: ASCII second
      kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort,
      // ________ 1000____
      kTooLong | kOverlong2 | kTwoContinuations | kOverlong3 | kTooLarge1000 | kOverlong4,
      // ________ 1001____
      kTooLong | kOverlong2 | kTwoContinuations | kOverlong3 | kTooLarge,
      // ________ 101_____
      kTooLong | kOverlong2 | kTwoContinuations | kSurrogate | kTooLarge,
      kTooLong | kOverlong2 | kTwoContinuations | kSurrogate | kTooLarge,
      // ________ 11______: lead second
      kTooShort, kTooShort, kTooShort, kTooShort,
  };
  // A register's last three bytes may not start a sequence longer than the bytes after
  // them: above these limits they do.
  static constexpr uint8_t kIncompleteLimit[32] = {
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
      0xF0 - 1, 0xE0 - 1, 0xC0 - 1};

  void check_bytes(simd::Bytes input, simd::Bytes previous) noexcept {
    const simd::Bytes previous_1 = input.prev<1>(previous);
    const simd::Bytes special_cases = previous_1.high_nibbles().lookup16(byte_1_high_) &
                                      previous_1.low_nibbles().lookup16(byte_1_low_) &
                                      input.high_nibbles().lookup16(byte_2_high_);
    // Top bit set where the byte must be a third (or fourth) byte of a sequence, which
    // special_cases flags as kTwoContinuations: any other disagreement is an error.
    const simd::Bytes third = input.prev<2>(previous).saturating_sub(simd::Bytes::splat(0xE0 - 0x80));
    const simd::Bytes fourth = input.prev<3>(previous).saturating_sub(simd::Bytes::splat(0xF0 - 0x80));
    const simd::Bytes must_be_continuation = (third | fourth) & simd::Bytes::splat(0x80);
    error_ = error_ | (must_be_continuation ^ special_cases);
  }

  simd::Bytes error_;
  simd::Bytes previous_;
  simd::Bytes previous_incomplete_;
  simd::Bytes byte_1_high_;
  simd::Bytes byte_1_low_;
  simd::Bytes byte_2_high_;
  simd::Bytes incomplete_limit_;
};

// The whole of validate_utf8 for a kernel. Uses load_short_block (structural_bits.h).
inline bool validate_utf8_blocks(const char* data, size_t length) noexcept {
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  Utf8Checker checker;
  if (length < 64) {
    // NUL bytes are valid and end no sequence early.
    checker.check_block(load_short_block(bytes, length, 0));
    return checker.finish();
  }
  size_t offset = 0;
  for (; offset + 64 <= length; offset += 64) {
    checker.check_block(simd::Block::load(bytes + offset));
  }
  if (offset < length) {
    // An ASCII tail (the usual end of a document) is checked a word at a time in place; the
    // last word overlaps bytes already checked, which is harmless for an ASCII test.
    uint64_t high_bits = 0;
    for (size_t word_offset = offset; word_offset < length; word_offset += 8) {
      uint64_t word;
      std::memcpy(&word, bytes + (word_offset + 8 <= length ? word_offset : length - 8), sizeof(word));
      high_bits |= word;
    }
    if ((high_bits & 0x8080808080808080ULL) == 0) {
      checker.check_ascii_bytes();
    } else {
      uint8_t tail[64] = {};  // NUL bytes are valid and end no sequence early.
      std::memcpy(tail, bytes + offset, length - offset);
      checker.check_block(simd::Block::load(tail));
    }
  }
  return checker.finish();
}
