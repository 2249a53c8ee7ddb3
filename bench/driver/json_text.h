// Small JSON text helpers for the driver: comparing a response with the expected one
// regardless of the encoder's spacing, and writing the report.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace lamina::bench {

// `json` without the whitespace outside strings: `{"a": [1, 2]}` and `{"a":[1,2]}` become
// the same bytes, so compact and spaced encoders compare equal. Appends to `out`.
inline void append_without_json_whitespace(std::string& out, std::string_view json) {
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      out.push_back(c);
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else {
      if (c == '"') in_string = true;
      out.push_back(c);
    }
  }
}

// At most `max_length` bytes of a body for an error line, control characters as \xNN (the
// report escapes what JSON needs; quoting more here would escape it twice).
inline std::string excerpt(std::string_view body, std::size_t max_length = 600) {
  std::string out;
  for (std::size_t i = 0; i < body.size() && i < max_length; ++i) {
    auto byte = static_cast<unsigned char>(body[i]);
    if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += body[i];
    }
  }
  if (body.size() > max_length) out += "...";
  return out;
}

// A JSON string literal for `text`, bytes >= 0x80 passed through (the report is UTF-8).
inline std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline std::string json_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

}  // namespace lamina::bench
