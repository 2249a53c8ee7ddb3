// Python str -> JSON string: UTF-8 with only '"', '\\' and control characters escaped
// (simplejson's ensure_ascii=False), and lone surrogates, which UTF-8 cannot carry, escaped.
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "json/output_writer.h"
#include "json/scalar/stringparsing.h"

namespace lamina::json {

namespace detail {
// write_json_string for strings that are not short ASCII ones (out of line, so that the
// common case stays a small inline function without its register saves).
void write_json_string_general(PyObject* text, OutputWriter& writer);
// Writes the escape of '"', '\\' or a control character; returns the end.
char* write_ascii_escape(unsigned char character, char* out) noexcept;

// write_escaped_ascii for 32 bytes and more: the SIMD kernel finds the bytes to escape.
char* write_escaped_long_ascii(const char* data, size_t length, char* out) noexcept;

// The room write_escaped_ascii needs past the worst case: it stores whole words.
inline constexpr size_t kEscapedAsciiSlack = 8;

// Short strings (most keys and values), inline: copy a word, then look for a byte to escape
// in it (rare) with the scalar kernel's SWAR test, which costs less than setting up a vector
// search.
inline char* write_escaped_short_ascii(const char* cursor, const char* limit, char* out) noexcept {
  while (cursor < limit) {
    const auto remaining = static_cast<size_t>(limit - cursor);
    uint64_t word;
    size_t count = 8;
    if (remaining >= 8) {
      std::memcpy(&word, cursor, sizeof(word));
    } else {
      word = scalar::load_partial_word(cursor, remaining);
      count = remaining;
    }
    std::memcpy(out, &word, sizeof(word));  // Past `count`: slack, overwritten later.
    const uint64_t special = scalar::special_bytes(word);
    if (special == 0) {
      cursor += count;
      out += count;
      continue;
    }
    const auto before = static_cast<size_t>(__builtin_ctzll(special) / 8);
    cursor += before;
    out = write_ascii_escape(static_cast<unsigned char>(*cursor), out + before);
    ++cursor;
  }
  return out;
}

// Writes `length` ASCII bytes escaped to `out`, which has room for 6 bytes per byte plus
// kEscapedAsciiSlack.
inline char* write_escaped_ascii(const char* data, size_t length, char* out) noexcept {
  return length >= 32 ? write_escaped_long_ascii(data, length, out)
                      : write_escaped_short_ascii(data, data + length, out);
}
// Strings up to this long are written with one reservation of the worst case.
inline constexpr size_t kShortStringLength = 4096;
}  // namespace detail

// Writes `text` (a str or str subclass, read as its str value) with its quotes.
// Throws EncodeError if the str cannot be read (only legacy, not-ready strings can fail).
inline void write_json_string(PyObject* text, OutputWriter& writer) {
  // A compact ASCII str is always ready; any other (a legacy, not-ready str included) takes
  // the general path, which readies it first.
  if (PyUnicode_IS_COMPACT_ASCII(text)) {
    const auto length = static_cast<size_t>(PyUnicode_GET_LENGTH(text));
    if (length <= detail::kShortStringLength) {
      char* out = writer.reserve(length * 6 + 2 + detail::kEscapedAsciiSlack);
      *out++ = '"';
      out = detail::write_escaped_ascii(static_cast<const char*>(PyUnicode_DATA(text)), length, out);
      *out++ = '"';
      writer.advance_to(out);
      return;
    }
  }
  detail::write_json_string_general(text, writer);
}

// Writes the UTF-8 bytes of [data, data + length), which must be valid UTF-8, as a JSON string.
void write_json_string_utf8(const char* data, size_t length, OutputWriter& writer);

}  // namespace lamina::json
