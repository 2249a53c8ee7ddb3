// Stage 1 of decoding: what a CPU-specific kernel provides (simdjson's split). A kernel
// validates UTF-8 and indexes the document's structure; stage 2 (decoder.cpp) builds Python
// objects from that index and never searches for structure itself.
//
// A kernel is a struct of static functions, one folder per CPU family holding the same files
// (scalar/ is the reference every other kernel is tested against):
//
//   struct Kernel {
//     static constexpr const char* name;
//     // True when [data, data + length) is well-formed UTF-8 (Unicode table 3-7: no overlong
//     // forms, no encoded surrogates, nothing above U+10FFFF, no truncated sequences).
//     static bool validate_utf8(const char* data, size_t length) noexcept;
//     // Fills `index` as StructuralIndex describes (utf8 need not be valid here).
//     static void index_structure(const char* data, size_t length, StructuralIndex& index);
//     // First byte in [cursor, limit) that is '"', '\\' or below 0x20, or `limit`. Sets
//     // `saw_non_ascii` when a byte passed over is >= 0x80 (never clears it). Stage 2 and the
//     // encoder call it for every string, so kernels define it inline (stringparsing.h).
//     static const char* find_string_special(const char* cursor, const char* limit,
//                                            bool& saw_non_ascii) noexcept;
//   };
//
// kernel.h is the one place that picks the kernel a build uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace lamina::json {

// Byte offsets of every token of a document, in order, followed by a sentinel equal to the
// document's length. A token is, outside strings:
//   - each of { } [ ] : ,
//   - each opening quote (the string's contents and closing quote are skipped);
//   - the first byte of every other run of bytes that are not whitespace (' ', \t, \n, \r),
//     not one of the above and not a quote: the start of a number or literal, or garbage.
//     The byte after a closing quote starts a new run.
// A '"' preceded by an odd run of backslashes is escaped, inside a string or not: it never
// opens or closes one, and outside strings it is garbage like a backslash (SIMD kernels find
// escapes for the whole block at once, before they know which bytes are in strings; stage 2
// rejects a document at or before its first backslash outside a string either way).
// An unterminated string runs to the end of the document. Stage 2 reports every syntax
// error from this index, so the positions of garbage matter as much as those of structure.
class StructuralIndex {
 public:
  // SIMD kernels write positions eight at a time and may write this many past the last
  // token before the sentinel overwrites the first of them.
  static constexpr size_t kWriteSlack = 8;

  // Makes room for the worst case (every byte a token, plus the sentinel and the slack) so a
  // kernel can write positions without bounds checks.
  void prepare(size_t document_length) {
    const size_t needed = document_length + 1 + kWriteSlack;
    if (needed > capacity_) {
      // Left uninitialised (make_unique would zero it): the worst case is rarely reached, and
      // pages never written never become resident.
      positions_.reset(new uint32_t[needed]);
      capacity_ = needed;
    }
    token_count_ = 0;
  }
  uint32_t* positions() noexcept { return positions_.get(); }
  const uint32_t* positions() const noexcept { return positions_.get(); }
  // Number of tokens, not counting the sentinel.
  size_t token_count() const noexcept { return token_count_; }
  void set_token_count(size_t token_count) noexcept { token_count_ = token_count; }

  // Gives back the memory of an unusually large document instead of keeping it for the
  // process's lifetime.
  void release_if_larger_than(size_t positions_kept) {
    if (capacity_ > positions_kept) {
      positions_.reset();
      capacity_ = 0;
    }
  }

 private:
  std::unique_ptr<uint32_t[]> positions_;
  size_t capacity_ = 0;
  size_t token_count_ = 0;
};

inline bool is_json_whitespace(unsigned char byte) noexcept {
  return byte == ' ' || byte == '\n' || byte == '\r' || byte == '\t';
}

}  // namespace lamina::json
