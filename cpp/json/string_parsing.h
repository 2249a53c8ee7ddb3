// Stage 2's reading of one JSON string: find its end with the kernel's scanning primitive,
// unescape it when it has backslashes, and build the Python str.
#pragma once

#include <cstddef>
#include <cstdint>
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

// Appends `code_point` as UTF-8; surrogates get the three-byte form "surrogatepass" reads.
inline void append_utf8(uint32_t code_point, std::string& out) {
  char bytes[4];
  size_t length;
  if (code_point < 0x80) {
    bytes[0] = static_cast<char>(code_point);
    length = 1;
  } else if (code_point < 0x800) {
    bytes[0] = static_cast<char>(0xC0 | (code_point >> 6));
    bytes[1] = static_cast<char>(0x80 | (code_point & 0x3F));
    length = 2;
  } else if (code_point < 0x10000) {
    bytes[0] = static_cast<char>(0xE0 | (code_point >> 12));
    bytes[1] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    bytes[2] = static_cast<char>(0x80 | (code_point & 0x3F));
    length = 3;
  } else {
    bytes[0] = static_cast<char>(0xF0 | (code_point >> 18));
    bytes[1] = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    bytes[2] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    bytes[3] = static_cast<char>(0x80 | (code_point & 0x3F));
    length = 4;
  }
  out.append(bytes, length);
}

}  // namespace detail

template <class Kernel>
StringText read_escaped_string(const char* contents, const char* first_backslash,
                               const char* limit, bool saw_non_ascii, std::string& scratch) {
  StringText text;
  scratch.assign(contents, first_backslash);
  const char* cursor = first_backslash;
  while (true) {
    // `cursor` is at a backslash.
    if (limit - cursor < 2) {
      text.error = StringError::kUnterminated;
      return text;
    }
    const char escaped = cursor[1];
    switch (escaped) {
      case '"':
      case '\\':
      case '/':
        scratch.push_back(escaped);
        cursor += 2;
        break;
      case 'b':
        scratch.push_back('\b');
        cursor += 2;
        break;
      case 'f':
        scratch.push_back('\f');
        cursor += 2;
        break;
      case 'n':
        scratch.push_back('\n');
        cursor += 2;
        break;
      case 'r':
        scratch.push_back('\r');
        cursor += 2;
        break;
      case 't':
        scratch.push_back('\t');
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
        detail::append_utf8(static_cast<uint32_t>(code_point), scratch);
        break;
      }
      default:
        text.error = StringError::kInvalidEscape;
        text.error_at = cursor + 1;
        return text;
    }
    const char* const run = cursor;
    cursor = Kernel::find_string_special(cursor, limit, saw_non_ascii);
    scratch.append(run, cursor);
    if (cursor == limit) {
      text.error = StringError::kUnterminated;
      return text;
    }
    if (*cursor == '"') {
      text.data = scratch.data();
      text.length = scratch.size();
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
