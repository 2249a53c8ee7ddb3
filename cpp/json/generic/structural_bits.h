// Stage 1 on 64-byte blocks, written once for every SIMD kernel (simdjson's generic/). This
// file is included inside a kernel's namespace, after its simd.h and bitmanipulation.h:
// it uses simd::Block, simd::Bytes, prefix_xor, trailing_zeroes and count_ones from there.
// No include guard on purpose: each kernel gets its own copy.

// Which bytes of a block are quotes, backslashes, whitespace and structural characters.
// Whitespace and structure come from two 16-entry tables indexed by each byte's low and high
// nibble; a byte is in a class when both its entries have one of the class's bits. The bits
// are chosen so that no other byte matches (the tables of simdjson also match 0x0C and 0x1A
// as structure, harmless for a validating parser but not for an index that must equal the
// scalar one byte for byte).
struct BlockClasses {
  uint64_t quote;
  uint64_t backslash;
  uint64_t whitespace;
  uint64_t structural;
};

class ByteClassifier {
 public:
  ByteClassifier() noexcept
      : low_table_(simd::Bytes::repeat16(kLowNibbleClasses)),
        high_table_(simd::Bytes::repeat16(kHighNibbleClasses)) {}

  BlockClasses classify(const simd::Block& block) const noexcept {
    simd::Bytes classes[simd::Block::kRegisters];
    for (size_t chunk = 0; chunk < simd::Block::kRegisters; ++chunk) {
      const simd::Bytes& bytes = block.chunks[chunk];
      classes[chunk] = bytes.low_nibbles().lookup16(low_table_) & bytes.high_nibbles().lookup16(high_table_);
    }
    return BlockClasses{block.eq_mask('"'), block.eq_mask('\\'),
                        simd::Block::any_bits_mask(classes, kTabNewlineReturn | kSpace),
                        simd::Block::any_bits_mask(classes, kComma | kColon | kBracketOrBrace)};
  }

 private:
  // One bit per group of bytes that share a high nibble and low nibbles.
  static constexpr uint8_t kTabNewlineReturn = 1;  // 0x09 0x0A 0x0D
  static constexpr uint8_t kSpace = 2;             // 0x20
  static constexpr uint8_t kComma = 4;             // 0x2C
  static constexpr uint8_t kColon = 8;             // 0x3A
  static constexpr uint8_t kBracketOrBrace = 16;   // 0x5B 0x5D 0x7B 0x7D
  static constexpr uint8_t kLowNibbleClasses[16] = {
      kSpace, 0, 0, 0, 0, 0, 0, 0, 0, kTabNewlineReturn,
      kTabNewlineReturn | kColon,            // 0x_A
      kBracketOrBrace,                       // 0x_B
      kComma,                                // 0x_C
      kTabNewlineReturn | kBracketOrBrace,   // 0x_D
      0, 0};
  static constexpr uint8_t kHighNibbleClasses[16] = {
      kTabNewlineReturn, 0, kSpace | kComma, kColon, 0, kBracketOrBrace, 0, kBracketOrBrace,
      0, 0, 0, 0, 0, 0, 0, 0};

  simd::Bytes low_table_;
  simd::Bytes high_table_;
};

// Carries string and escape state from one block to the next and turns a block's classes
// into its token bits (../scanner.h says which bytes are tokens).
class StructuralScanner {
 public:
  uint64_t next(const BlockClasses& classes) noexcept {
    const uint64_t quote = classes.quote & ~find_escaped(classes.backslash);
    // From each opening quote up to, not including, its closing quote.
    const uint64_t in_string = prefix_xor(quote) ^ previous_in_string_;
    previous_in_string_ = static_cast<uint64_t>(static_cast<int64_t>(in_string) >> 63);
    // Numbers, literals and garbage: anything outside strings that is not whitespace,
    // structure or a quote (escaped quotes outside strings are garbage too).
    const uint64_t other = ~(classes.whitespace | classes.structural | quote | in_string);
    const uint64_t run_starts = other & ~((other << 1) | previous_other_);
    previous_other_ = other >> 63;
    return (classes.structural & ~in_string) | (quote & in_string) | run_starts;
  }

 private:
  // Bits of the bytes escaped by a backslash: those after an odd run of backslashes
  // (simdjson's find_escaped, with the run carried across blocks).
  uint64_t find_escaped(uint64_t backslash) noexcept {
    if (backslash == 0) {
      const uint64_t escaped = previous_escaped_;
      previous_escaped_ = 0;
      return escaped;
    }
    // A backslash escaped by the previous block's last one starts nothing.
    backslash &= ~previous_escaped_;
    const uint64_t follows_escape = (backslash << 1) | previous_escaped_;
    // Adding each odd-position run start to the backslashes carries it past the end of its
    // run; the parity of where runs start then tells which following bytes are escaped.
    constexpr uint64_t kEvenBits = 0x5555555555555555ULL;
    const uint64_t odd_sequence_starts = backslash & ~kEvenBits & ~follows_escape;
    uint64_t sequences_starting_on_even_bits;
    previous_escaped_ = __builtin_add_overflow(odd_sequence_starts, backslash,
                                               &sequences_starting_on_even_bits)
                            ? 1
                            : 0;
    const uint64_t invert_mask = sequences_starting_on_even_bits << 1;
    return (kEvenBits ^ invert_mask) & follows_escape;
  }

  uint64_t previous_escaped_ = 0;    // 1 when the next block's first byte is escaped
  uint64_t previous_in_string_ = 0;  // all ones when the next block starts inside a string
  uint64_t previous_other_ = 0;      // 1 when the previous block ended inside a run
};

// Appends base + the position of each set bit of `bits`, lowest first. Writes eight, then
// sixteen, positions unconditionally (a block seldom has more), so up to
// StructuralIndex::kWriteSlack past the returned end may be overwritten.
inline uint32_t* write_positions(uint32_t* out, uint32_t base, uint64_t bits) noexcept {
  if (bits == 0) {
    return out;
  }
  const int count = count_ones(bits);
  for (int slot = 0; slot < 8; ++slot) {
    out[slot] = base + static_cast<uint32_t>(trailing_zeroes(bits));
    bits &= bits - 1;
  }
  if (count > 8) {
    for (int slot = 8; slot < 16; ++slot) {
      out[slot] = base + static_cast<uint32_t>(trailing_zeroes(bits));
      bits &= bits - 1;
    }
    for (int slot = 16; slot < count; ++slot) {
      out[slot] = base + static_cast<uint32_t>(trailing_zeroes(bits));
      bits &= bits - 1;
    }
  }
  return out + count;
}

// The `count` (< 64) bytes at `data` as a block padded with `filler`, assembled in
// registers from word loads: nothing is read past the end, and no byte stores are left for
// vector loads to wait on (a padded copy on the stack costs more than the scan of a small
// event).
inline uint64_t load_short_word(const uint8_t* data, size_t count, size_t start, uint64_t fill) noexcept {
  if (start + 8 <= count) {
    uint64_t word;
    std::memcpy(&word, data + start, 8);
    return word;
  }
  if (start >= count) {
    return fill;
  }
  const size_t bytes = count - start;  // 1..7
  uint64_t partial;
  if (bytes >= 4) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, data + start, 4);
    std::memcpy(&high, data + start + bytes - 4, 4);
    partial = low | (static_cast<uint64_t>(high) << (8 * (bytes - 4)));
  } else {
    partial = static_cast<uint64_t>(data[start]) |
              (static_cast<uint64_t>(data[start + bytes / 2]) << (8 * (bytes / 2))) |
              (static_cast<uint64_t>(data[start + bytes - 1]) << (8 * (bytes - 1)));
  }
  return partial | (fill & (~uint64_t{0} << (8 * bytes)));
}

inline simd::Block load_short_block(const uint8_t* data, size_t count, uint8_t filler) noexcept {
  const uint64_t fill = 0x0101010101010101ULL * filler;
  return simd::Block::from_words(
      load_short_word(data, count, 0, fill), load_short_word(data, count, 8, fill),
      load_short_word(data, count, 16, fill), load_short_word(data, count, 24, fill),
      load_short_word(data, count, 32, fill), load_short_word(data, count, 40, fill),
      load_short_word(data, count, 48, fill), load_short_word(data, count, 56, fill));
}

// The whole of index_structure for a kernel.
inline void index_structure_blocks(const char* data, size_t length, StructuralIndex& index) {
  index.prepare(length);
  uint32_t* const first = index.positions();
  uint32_t* out = first;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  const ByteClassifier classifier;
  StructuralScanner scanner;
  if (length < 64) {
    // Spaces make no tokens and end no string.
    out = write_positions(out, 0, scanner.next(classifier.classify(load_short_block(bytes, length, ' '))));
    *out = static_cast<uint32_t>(length);
    index.set_token_count(static_cast<size_t>(out - first));
    return;
  }
  size_t offset = 0;
  for (; offset + 64 <= length; offset += 64) {
    const uint64_t tokens = scanner.next(classifier.classify(simd::Block::load(bytes + offset)));
    out = write_positions(out, static_cast<uint32_t>(offset), tokens);
  }
  if (offset < length) {
    // The last partial block: classify the document's last 64 bytes where they are (no copy
    // into a padded buffer, whose byte stores would stall the vector loads) and shift the
    // bytes already seen out of the masks. What is shifted in counts as whitespace, which
    // makes no tokens and ends no string.
    const size_t remaining = length - offset;  // 1..63
    const unsigned seen = static_cast<unsigned>(64 - remaining);
    BlockClasses classes = classifier.classify(simd::Block::load(bytes + length - 64));
    classes.quote >>= seen;
    classes.backslash >>= seen;
    classes.structural >>= seen;
    classes.whitespace = (classes.whitespace >> seen) | (~uint64_t{0} << remaining);
    out = write_positions(out, static_cast<uint32_t>(offset), scanner.next(classes));
  }
  *out = static_cast<uint32_t>(length);
  index.set_token_count(static_cast<size_t>(out - first));
}
