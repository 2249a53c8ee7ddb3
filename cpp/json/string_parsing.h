// Stage 2's reading of one JSON string: find its end with the kernel's scanning primitive,
// unescape it when it has backslashes, and build the Python str.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "json/python_ref.h"

namespace lamina::json {

enum class StringError : uint8_t {
  kNone,
  kUnterminated,          // reported at the opening quote
  kControlCharacter,      // reported at the control character
  kInvalidEscape,         // reported at the character after the backslash
  kInvalidUnicodeEscape,  // reported at the backslash of the \u escape
};

// The contents of one string. `data` points into the document when the string had no
// escapes, into the caller's scratch buffer otherwise.
struct StringText {
  const char* data = nullptr;
  size_t length = 0;
  bool is_ascii = true;
  // Lone surrogates from \uXXXX escapes are held as three bytes (Python's "surrogatepass").
  bool has_surrogates = false;
  const char* end = nullptr;  // Just past the closing quote.
  StringError error = StringError::kNone;
  const char* error_at = nullptr;
};

// Slow path of read_string: the contents from `first_backslash` on have escapes.
template <class Kernel>
StringText read_escaped_string(const char* contents, const char* first_backslash,
                               const char* limit, bool saw_non_ascii, std::string& scratch);

// Reads the string whose contents start at `contents` (just after the opening quote).
template <class Kernel>
inline StringText read_string(const char* contents, const char* limit, std::string& scratch) {
  bool saw_non_ascii = false;
  const char* special = Kernel::find_string_special(contents, limit, saw_non_ascii);
  StringText text;
  if (special < limit && *special == '"') {
    text.data = contents;
    text.length = static_cast<size_t>(special - contents);
    text.is_ascii = !saw_non_ascii;
    text.end = special + 1;
    return text;
  }
  if (special == limit) {
    text.error = StringError::kUnterminated;
    return text;
  }
  if (*special != '\\') {
    text.error = StringError::kControlCharacter;
    text.error_at = special;
    return text;
  }
  return read_escaped_string<Kernel>(contents, special, limit, saw_non_ascii, scratch);
}

namespace detail {

// Value of the four hex digits at `cursor`, or -1 (also when fewer than four bytes remain).
inline int32_t parse_hex4(const char* cursor, const char* limit) noexcept {
  if (limit - cursor < 4) {
    return -1;
  }
  int32_t value = 0;
  for (int position = 0; position < 4; ++position) {
    const char digit = cursor[position];
    int32_t nibble;
    if (digit >= '0' && digit <= '9') {
      nibble = digit - '0';
    } else if (digit >= 'a' && digit <= 'f') {
      nibble = digit - 'a' + 10;
    } else if (digit >= 'A' && digit <= 'F') {
      nibble = digit - 'A' + 10;
    } else {
      return -1;
    }
    value = value * 16 + nibble;
  }
  return value;
}

// Writes `code_point` as UTF-8 (at most 4 bytes); surrogates get the three-byte form
// "surrogatepass" reads. Returns the end.
inline char* write_utf8(uint32_t code_point, char* out) noexcept {
  if (code_point < 0x80) {
    *out++ = static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    *out++ = static_cast<char>(0xC0 | (code_point >> 6));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    *out++ = static_cast<char>(0xE0 | (code_point >> 12));
    *out++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    *out++ = static_cast<char>(0xF0 | (code_point >> 18));
    *out++ = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    *out++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return out;
}

}  // namespace detail

namespace detail {

// The unescaped text written through a raw cursor into `scratch`, which is used as a
// buffer: its size is its usable room (grown, never shrunk, so it is zero-filled only when
// it grows), not the length of the text. Per-character push_back would cost more than the
// unescaping.
class ScratchWriter {
 public:
  explicit ScratchWriter(std::string& scratch) : scratch_(scratch) {
    if (scratch_.size() < kInitialRoom) {
      scratch_.resize(kInitialRoom);
    }
    begin_ = scratch_.data();
    cursor_ = begin_;
    end_ = begin_ + scratch_.size();
  }
  // Room for `count` more bytes at the cursor.
  char* reserve(size_t count) {
    if (static_cast<size_t>(end_ - cursor_) < count) {
      const size_t used = static_cast<size_t>(cursor_ - begin_);
      scratch_.resize(std::max(scratch_.size() * 2, used + count));
      begin_ = scratch_.data();
      cursor_ = begin_ + used;
      end_ = begin_ + scratch_.size();
    }
    return cursor_;
  }
  void advance_to(char* cursor) noexcept { cursor_ = cursor; }
  void append(const char* data, size_t count) {
    std::memcpy(reserve(count), data, count);
    cursor_ += count;
  }
  const char* data() const noexcept { return begin_; }
  size_t length() const noexcept { return static_cast<size_t>(cursor_ - begin_); }

 private:
  static constexpr size_t kInitialRoom = 256;
  std::string& scratch_;
  char* begin_;
  char* cursor_;
  char* end_;
};

}  // namespace detail

template <class Kernel>
StringText read_escaped_string(const char* contents, const char* first_backslash,
                               const char* limit, bool saw_non_ascii, std::string& scratch) {
  StringText text;
  detail::ScratchWriter out(scratch);
  out.append(contents, static_cast<size_t>(first_backslash - contents));
  const char* cursor = first_backslash;
  while (true) {
    // `cursor` is at a backslash. An escape writes at most 4 bytes.
    if (limit - cursor < 2) {
      text.error = StringError::kUnterminated;
      return text;
    }
    char* write = out.reserve(4);
    const char escaped = cursor[1];
    switch (escaped) {
      case '"':
      case '\\':
      case '/':
        *write++ = escaped;
        cursor += 2;
        break;
      case 'b':
        *write++ = '\b';
        cursor += 2;
        break;
      case 'f':
        *write++ = '\f';
        cursor += 2;
        break;
      case 'n':
        *write++ = '\n';
        cursor += 2;
        break;
      case 'r':
        *write++ = '\r';
        cursor += 2;
        break;
      case 't':
        *write++ = '\t';
        cursor += 2;
        break;
      case 'u': {
        int32_t code_point = detail::parse_hex4(cursor + 2, limit);
        if (code_point < 0) {
          text.error = StringError::kInvalidUnicodeEscape;
          text.error_at = cursor;
          return text;
        }
        cursor += 6;
        // A high surrogate followed by a \u escape of a low one is one character; any other
        // surrogate stays a lone surrogate, as json.loads keeps it. (simplejson only looks
        // for the pair when six characters follow; counting bytes instead gives the same
        // outcome and error positions, since a non-ASCII byte is never a hex digit.)
        if ((code_point & 0xFC00) == 0xD800 && limit - cursor >= 6 && cursor[0] == '\\' &&
            cursor[1] == 'u') {
          const int32_t low = detail::parse_hex4(cursor + 2, limit);
          if (low < 0) {
            text.error = StringError::kInvalidUnicodeEscape;
            text.error_at = cursor;
            return text;
          }
          if ((low & 0xFC00) == 0xDC00) {
            code_point = 0x10000 + (((code_point - 0xD800) << 10) | (low - 0xDC00));
            cursor += 6;
          }
        }
        if (code_point >= 0x80) {
          saw_non_ascii = true;
          if (code_point >= 0xD800 && code_point <= 0xDFFF) {
            text.has_surrogates = true;
          }
        }
        write = detail::write_utf8(static_cast<uint32_t>(code_point), write);
        break;
      }
      default:
        text.error = StringError::kInvalidEscape;
        text.error_at = cursor + 1;
        return text;
    }
    out.advance_to(write);
    const char* const run = cursor;
    cursor = Kernel::find_string_special(cursor, limit, saw_non_ascii);
    out.append(run, static_cast<size_t>(cursor - run));
    if (cursor == limit) {
      text.error = StringError::kUnterminated;
      return text;
    }
    if (*cursor == '"') {
      text.data = out.data();
      text.length = out.length();
      text.is_ascii = !saw_non_ascii;
      text.end = cursor + 1;
      return text;
    }
    if (*cursor != '\\') {
      text.error = StringError::kControlCharacter;
      text.error_at = cursor;
      return text;
    }
  }
}

// Builds the str for a successfully read string. Returns a new reference; throws DecodeError
// when Python cannot allocate it.
PyObject* make_python_string(const StringText& text);

}  // namespace lamina::json
