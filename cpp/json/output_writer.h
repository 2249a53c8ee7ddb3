// Appends to a std::string through a raw cursor: the encoder writes a few bytes per call, and
// std::string's per-call bookkeeping would cost more than the writing.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace lamina::json {

class OutputWriter {
 public:
  explicit OutputWriter(std::string& out) : out_(out), start_(out.size()) {
    // Grow in steps proportional to what is written: the caller may hand over a string with
    // a large capacity left from an earlier response, and resize() zero-fills.
    out_.resize(start_ + kInitialRoom);
    cursor_ = out_.data() + start_;
    end_ = out_.data() + out_.size();
  }
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;
  // Leaves `out` holding what was written once committed, and as it was found otherwise.
  ~OutputWriter() { out_.resize(committed_ ? static_cast<size_t>(cursor_ - out_.data()) : start_); }

  void commit() noexcept { committed_ = true; }

  // Room for at least `count` bytes at the cursor; write them, then call advance_to().
  char* reserve(size_t count) {
    if (static_cast<size_t>(end_ - cursor_) < count) {
      grow(count);
    }
    return cursor_;
  }
  void advance_to(char* cursor) noexcept { cursor_ = cursor; }

  void put(char byte) {
    reserve(1);
    *cursor_++ = byte;
  }
  void append(const char* data, size_t count) {
    reserve(count);
    std::memcpy(cursor_, data, count);
    cursor_ += count;
  }
  void append(std::string_view text) { append(text.data(), text.size()); }

 private:
  static constexpr size_t kInitialRoom = 256;

  void grow(size_t count) {
    const size_t used = static_cast<size_t>(cursor_ - out_.data());
    out_.resize(std::max(out_.size() * 2, used + count));
    cursor_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }

  std::string& out_;
  size_t start_;
  char* cursor_;
  char* end_;
  bool committed_ = false;
};

}  // namespace lamina::json
