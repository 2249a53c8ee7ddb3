#include "http/syntax.h"

#include <cstdio>

namespace lamina::http::syntax {

std::string quote_for_error(std::string_view bytes, std::size_t max_length) {
  std::string quoted = "'";
  std::size_t shown = bytes.size() < max_length ? bytes.size() : max_length;
  for (std::size_t i = 0; i < shown; ++i) {
    auto byte = static_cast<unsigned char>(bytes[i]);
    if (byte == '\\' || byte == '\'') {
      quoted += '\\';
      quoted += static_cast<char>(byte);
    } else if (byte >= 0x20 && byte < 0x7f) {
      quoted += static_cast<char>(byte);
    } else if (byte == '\r') {
      quoted += "\\r";
    } else if (byte == '\n') {
      quoted += "\\n";
    } else if (byte == '\t') {
      quoted += "\\t";
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      quoted += escaped;
    }
  }
  quoted += '\'';
  if (shown < bytes.size()) quoted += "...";
  return quoted;
}

}  // namespace lamina::http::syntax
