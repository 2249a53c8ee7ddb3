#include "json/number_formatting.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace lamina::json {

size_t format_double_repr(double value, char* out) noexcept {
  char* cursor = out;
  if (value == 0) {
    const char* zero = std::signbit(value) ? "-0.0" : "0.0";
    const size_t length = std::strlen(zero);
    std::memcpy(out, zero, length);
    return length;
  }
  // to_chars' shortest scientific form carries the same digits as Python's repr ("shortest
  // that round-trips, nearest to the exact value"); only the layout differs.
  char scientific[kMaxNumberTextLength];
  const std::to_chars_result written =
      std::to_chars(scientific, scientific + sizeof(scientific), value, std::chars_format::scientific);
  const char* read = scientific;
  if (*read == '-') {
    *cursor++ = '-';
    ++read;
  }
  char digits[20];
  int digit_count = 0;
  for (; *read != 'e'; ++read) {
    if (*read != '.') {
      digits[digit_count++] = *read;
    }
  }
  ++read;  // 'e'
  int exponent = 0;
  std::from_chars(*read == '+' ? read + 1 : read, written.ptr, exponent);

  // Position of the decimal point relative to the digits, as CPython's float_repr counts it.
  const int decimal_point = exponent + 1;
  if (decimal_point > -4 && decimal_point <= 16) {
    if (decimal_point <= 0) {
      *cursor++ = '0';
      *cursor++ = '.';
      for (int zero = 0; zero < -decimal_point; ++zero) {
        *cursor++ = '0';
      }
      std::memcpy(cursor, digits, digit_count);
      cursor += digit_count;
    } else if (decimal_point >= digit_count) {
      std::memcpy(cursor, digits, digit_count);
      cursor += digit_count;
      for (int zero = digit_count; zero < decimal_point; ++zero) {
        *cursor++ = '0';
      }
      *cursor++ = '.';
      *cursor++ = '0';
    } else {
      std::memcpy(cursor, digits, decimal_point);
      cursor += decimal_point;
      *cursor++ = '.';
      std::memcpy(cursor, digits + decimal_point, digit_count - decimal_point);
      cursor += digit_count - decimal_point;
    }
  } else {
    *cursor++ = digits[0];
    if (digit_count > 1) {
      *cursor++ = '.';
      std::memcpy(cursor, digits + 1, digit_count - 1);
      cursor += digit_count - 1;
    }
    *cursor++ = 'e';
    *cursor++ = exponent < 0 ? '-' : '+';
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) {
      *cursor++ = '0';
    }
    cursor = std::to_chars(cursor, out + kMaxNumberTextLength, magnitude).ptr;
  }
  return static_cast<size_t>(cursor - out);
}

size_t format_int64(int64_t value, char* out) noexcept {
  return static_cast<size_t>(std::to_chars(out, out + kMaxNumberTextLength, value).ptr - out);
}

}  // namespace lamina::json
