// Appends to a std::string or an OutputBuffer through a raw cursor: the encoder writes a few
// bytes per call, and std::string's per-call bookkeeping would cost more than the writing.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace lamina::json {

// Memory for encoder output kept from call to call. Unlike std::string it is not
// zero-filled as it grows (resize() writes every new byte: a megabyte of memset per large
// response).
class OutputBuffer {
 public:
  const char* data() const noexcept { return bytes_.get(); }
  size_t size() const noexcept { return size_; }
  void clear() noexcept { size_ = 0; }
  // Gives back the memory of an unusually large output instead of keeping it.
  void release_if_larger_than(size_t capacity_kept) noexcept {
    if (capacity_ > capacity_kept) {
      bytes_.reset();
      capacity_ = 0;
      size_ = 0;
    }
  }

 private:
  friend class OutputWriter;
  // Room for `capacity` bytes, keeping the first `used`.
  void grow(size_t capacity, size_t used) {
    // Uninitialised on purpose (make_unique would zero it): every byte is written before
    // it is read.
    std::unique_ptr<char[]> larger(new char[capacity]);
    if (used != 0) {
      std::memcpy(larger.get(), bytes_.get(), used);
    }
    bytes_ = std::move(larger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> bytes_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

class OutputWriter {
 public:
  explicit OutputWriter(std::string& out) : string_(&out), start_(out.size()) {
    // Grow in steps proportional to what is written: the caller may hand over a string with
    // a large capacity left from an earlier response, and resize() zero-fills.
    out.resize(start_ + kInitialRoom);
    set_region(out.data(), start_, out.size());
  }
  explicit OutputWriter(OutputBuffer& out) : buffer_(&out), start_(out.size_) {
    if (out.capacity_ - start_ < kInitialRoom) {
      out.grow(start_ + kInitialRoom, start_);
    }
    set_region(out.bytes_.get(), start_, out.capacity_);
  }
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;
  // Leaves the output holding what was written once committed, and as it was found otherwise.
  ~OutputWriter() {
    const size_t size = committed_ ? static_cast<size_t>(cursor_ - base_) : start_;
    if (string_ != nullptr) {
      string_->resize(size);
    } else {
      buffer_->size_ = size;
    }
  }

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

  void set_region(char* base, size_t used, size_t size) noexcept {
    base_ = base;
    cursor_ = base + used;
    end_ = base + size;
  }

  void grow(size_t count) {
    const size_t used = static_cast<size_t>(cursor_ - base_);
    const size_t size = std::max(static_cast<size_t>(end_ - base_) * 2, used + count);
    if (string_ != nullptr) {
      string_->resize(size);
      set_region(string_->data(), used, string_->size());
    } else {
      buffer_->grow(size, used);
      set_region(buffer_->bytes_.get(), used, buffer_->capacity_);
    }
  }

  std::string* string_ = nullptr;
  OutputBuffer* buffer_ = nullptr;
  size_t start_;
  char* base_ = nullptr;
  char* cursor_ = nullptr;
  char* end_ = nullptr;
  bool committed_ = false;
};

}  // namespace lamina::json
