// The character classes of HTTP/1.1 (RFC 9110 section 5, RFC 9112): shared by the parser,
// which rejects what they exclude, and the writer, which refuses to send it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lamina::http::syntax {

namespace detail {
struct TokenTable {
  bool allowed[256] = {};
  constexpr TokenTable() {
    for (int c = '0'; c <= '9'; ++c) allowed[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) allowed[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) allowed[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) allowed[static_cast<unsigned char>(c)] = true;
  }
};
inline constexpr TokenTable token_table{};
}  // namespace detail

// tchar: what header names and methods are made of.
inline bool is_token_char(char c) { return detail::token_table.allowed[static_cast<unsigned char>(c)]; }

inline bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// field-vchar / SP / HTAB, obs-text included: everything but the control characters, so CR,
// LF and NUL can never smuggle a second header or message into a value.
inline bool is_field_value_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

inline bool is_field_value(std::string_view text) {
  for (char c : text) {
    if (!is_field_value_char(c)) return false;
  }
  return true;
}

// A request target as it travels on the request line: visible ASCII or obs-text, no spaces.
inline bool is_request_target(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return true;
}

inline bool is_whitespace(char c) { return c == ' ' || c == '\t'; }

// Optional whitespace (OWS) around a value is not part of it.
inline std::string_view trim_whitespace(std::string_view text) {
  while (!text.empty() && is_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

inline char to_lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// Header names, transfer codings and connection options compare case-insensitively.
inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

// Peer bytes quoted in an error message: short, and printable whatever they were.
std::string quote_for_error(std::string_view bytes, std::size_t max_length = 80);

}  // namespace lamina::http::syntax
