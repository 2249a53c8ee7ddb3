#include "json/string_escaping.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "json/codec.h"
#include "json/kernel.h"
#include "json/python_ref.h"

namespace lamina::json {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// The longest a character can become: \uXXXX.
constexpr size_t kMaxEscapedCharacterLength = 6;
// Characters converted per reserve(): bounds the over-reservation for long strings.
constexpr size_t kCharactersPerChunk = 4096;

inline char* write_unicode_escape(uint32_t code_unit, char* out) noexcept {
  out[0] = '\\';
  out[1] = 'u';
  out[2] = kHexDigits[(code_unit >> 12) & 0xF];
  out[3] = kHexDigits[(code_unit >> 8) & 0xF];
  out[4] = kHexDigits[(code_unit >> 4) & 0xF];
  out[5] = kHexDigits[code_unit & 0xF];
  return out + 6;
}

}  // namespace

// Writes an ASCII character that must be escaped ('"', '\\' or a control character).
char* detail::write_ascii_escape(unsigned char character, char* out) noexcept {
  char short_form = 0;
  switch (character) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    default: return write_unicode_escape(character, out);
  }
  out[0] = '\\';
  out[1] = short_form;
  return out + 2;
}

using detail::write_ascii_escape;

namespace {

// Strings wider than ASCII, one character at a time.
template <class Character>
void write_wide_characters(const Character* characters, size_t length, OutputWriter& writer) {
  size_t position = 0;
  while (position < length) {
    const size_t chunk_end = std::min(length, position + kCharactersPerChunk);
    char* out = writer.reserve((chunk_end - position) * kMaxEscapedCharacterLength);
    for (; position < chunk_end; ++position) {
      const uint32_t character = characters[position];
      if (character < 0x80) {
        if (character < 0x20 || character == '"' || character == '\\') {
          out = write_ascii_escape(static_cast<unsigned char>(character), out);
        } else {
          *out++ = static_cast<char>(character);
        }
      } else if (character < 0x800) {
        *out++ = static_cast<char>(0xC0 | (character >> 6));
        *out++ = static_cast<char>(0x80 | (character & 0x3F));
      } else if (character >= 0xD800 && character <= 0xDFFF) {
        // A surrogate code point has no UTF-8 form; simplejson would emit a str that
        // fails later, when sent. The escape reads back as the same code point.
        out = write_unicode_escape(character, out);
      } else if (character < 0x10000) {
        *out++ = static_cast<char>(0xE0 | (character >> 12));
        *out++ = static_cast<char>(0x80 | ((character >> 6) & 0x3F));
        *out++ = static_cast<char>(0x80 | (character & 0x3F));
      } else {
        *out++ = static_cast<char>(0xF0 | (character >> 18));
        *out++ = static_cast<char>(0x80 | ((character >> 12) & 0x3F));
        *out++ = static_cast<char>(0x80 | ((character >> 6) & 0x3F));
        *out++ = static_cast<char>(0x80 | (character & 0x3F));
      }
    }
    writer.advance_to(out);
  }
}

}  // namespace

// Writes [data, data + length) escaped into `out`, which has room for the worst case plus
// kEscapedAsciiSlack bytes.
char* detail::write_escaped_long_ascii(const char* data, size_t length, char* out) noexcept {
  const char* cursor = data;
  const char* const limit = data + length;
  {
    // Long strings: the SIMD kernel finds the bytes to escape, runs are copied whole.
    bool saw_non_ascii = false;  // Unused: the caller knows.
    while (true) {
      const char* special = ActiveKernel::find_string_special(cursor, limit, saw_non_ascii);
      std::memcpy(out, cursor, static_cast<size_t>(special - cursor));
      out += special - cursor;
      if (special == limit) {
        return out;
      }
      out = write_ascii_escape(static_cast<unsigned char>(*special), out);
      cursor = special + 1;
    }
  }
  return detail::write_escaped_short_ascii(cursor, limit, out);
}

namespace {

// UTF-8 (ASCII included) needs escapes only for ASCII bytes, which the kernel finds.
void write_escaped_utf8_contents(const char* data, size_t length, OutputWriter& writer) {
  const char* cursor = data;
  const char* const limit = data + length;
  bool saw_non_ascii = false;  // Unused: non-ASCII bytes are copied as they are.
  while (true) {
    const char* special = ActiveKernel::find_string_special(cursor, limit, saw_non_ascii);
    writer.append(cursor, static_cast<size_t>(special - cursor));
    if (special == limit) {
      return;
    }
    char* out = writer.reserve(kMaxEscapedCharacterLength);
    writer.advance_to(write_ascii_escape(static_cast<unsigned char>(*special), out));
    cursor = special + 1;
  }
}

}  // namespace

void detail::write_json_string_general(PyObject* text, OutputWriter& writer) {
#if PY_VERSION_HEX < 0x030C0000
  if (PyUnicode_READY(text) != 0) {
    throw EncodeError(take_python_error_message());
  }
#endif
  const auto length = static_cast<size_t>(PyUnicode_GET_LENGTH(text));
  const void* data = PyUnicode_DATA(text);
  if (PyUnicode_IS_ASCII(text) && length <= kShortStringLength) {
    char* out = writer.reserve(length * kMaxEscapedCharacterLength + 2 + kEscapedAsciiSlack);
    *out++ = '"';
    out = write_escaped_ascii(static_cast<const char*>(data), length, out);
    *out++ = '"';
    writer.advance_to(out);
    return;
  }
  writer.put('"');
  if (PyUnicode_IS_ASCII(text)) {
    write_escaped_utf8_contents(static_cast<const char*>(data), length, writer);
  } else {
    switch (PyUnicode_KIND(text)) {
      case PyUnicode_1BYTE_KIND:
        write_wide_characters(static_cast<const Py_UCS1*>(data), length, writer);
        break;
      case PyUnicode_2BYTE_KIND:
        write_wide_characters(static_cast<const Py_UCS2*>(data), length, writer);
        break;
      default:
        write_wide_characters(static_cast<const Py_UCS4*>(data), length, writer);
        break;
    }
  }
  writer.put('"');
}

void write_json_string_utf8(const char* data, size_t length, OutputWriter& writer) {
  writer.put('"');
  write_escaped_utf8_contents(data, length, writer);
  writer.put('"');
}

}  // namespace lamina::json
