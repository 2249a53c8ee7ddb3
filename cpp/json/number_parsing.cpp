#include "json/number_parsing.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "json/codec.h"

namespace lamina::json {

namespace {

inline bool is_digit(char byte) noexcept { return byte >= '0' && byte <= '9'; }

// Up to this many digits always fit an int64, so they skip Python's arbitrary-precision parser.
constexpr ptrdiff_t kInt64SafeDigits = 18;

// Clinger's fast path: a significand below 2^53 times an exactly representable power of ten
// is one correctly rounded IEEE operation. 15 digits keep the significand below 2^53.
constexpr ptrdiff_t kFastPathMaxDigits = 15;
constexpr int kFastPathMaxExponent = 22;
constexpr double kExactPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Eight digits at a time (SWAR, simdjson's parse_eight_digits_unrolled): long numbers are
// the common case in float arrays.
inline bool is_eight_digits(const char* cursor) noexcept {
  uint64_t word;
  std::memcpy(&word, cursor, sizeof(word));
  return ((word & 0xF0F0F0F0F0F0F0F0ULL) |
          (((word + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
         0x3333333333333333ULL;
}

inline uint64_t parse_eight_digits(const char* cursor) noexcept {
  uint64_t word;
  std::memcpy(&word, cursor, sizeof(word));
  word = (word & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
  word = (word & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
  return (word & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
}

// Scans the digits from `cursor` on, folding them into `significand`.
inline const char* scan_digits(const char* cursor, const char* limit, uint64_t& significand) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (limit - cursor >= 8 && is_eight_digits(cursor)) {
    significand = significand * 100000000 + parse_eight_digits(cursor);
    cursor += 8;
  }
#endif
  while (cursor < limit && is_digit(*cursor)) {
    significand = significand * 10 + static_cast<uint64_t>(*cursor - '0');
    ++cursor;
  }
  return cursor;
}

PyObject* checked(PyObject* created) {
  if (created == nullptr) {
    throw DecodeError(take_python_error_message());
  }
  return created;
}

}  // namespace

PythonRef parse_number(const char* begin, const char* limit, const char** number_end,
                       std::string& scratch) {
  const char* cursor = begin;
  const bool negative = cursor < limit && *cursor == '-';
  if (negative) {
    ++cursor;
  }
  if (cursor == limit) {
    return {};
  }
  // The digits are accumulated as they are scanned; only the first 19 are needed (the int
  // and fast float paths use at most 18), later ones may overflow harmlessly.
  uint64_t significand = 0;
  const char* const integer_begin = cursor;
  if (*cursor == '0') {
    ++cursor;
  } else if (*cursor >= '1' && *cursor <= '9') {
    cursor = scan_digits(cursor, limit, significand);
  } else {
    return {};
  }
  const char* const integer_end = cursor;

  bool is_float = false;
  ptrdiff_t fraction_digits = 0;
  if (limit - cursor >= 2 && cursor[0] == '.' && is_digit(cursor[1])) {
    ++cursor;
    const char* const fraction_begin = cursor;
    cursor = scan_digits(cursor, limit, significand);
    fraction_digits = cursor - fraction_begin;
    is_float = true;
  }
  int explicit_exponent = 0;
  if (cursor < limit && (*cursor == 'e' || *cursor == 'E')) {
    const char* exponent = cursor + 1;
    bool exponent_negative = false;
    if (exponent < limit && (*exponent == '+' || *exponent == '-')) {
      exponent_negative = *exponent == '-';
      ++exponent;
    }
    const char* const exponent_digits = exponent;
    while (exponent < limit && is_digit(*exponent)) {
      // Saturates: anything this large leaves the fast path anyway.
      if (explicit_exponent < 100000) {
        explicit_exponent = explicit_exponent * 10 + (*exponent - '0');
      }
      ++exponent;
    }
    // "1e" and "1e+" are the int 1 followed by something else, as json.loads reads them.
    if (exponent > exponent_digits) {
      cursor = exponent;
      is_float = true;
      if (exponent_negative) {
        explicit_exponent = -explicit_exponent;
      }
    } else {
      explicit_exponent = 0;
    }
  }
  *number_end = cursor;

  const ptrdiff_t integer_digits = integer_end - integer_begin;
  if (!is_float) {
    if (integer_digits <= kInt64SafeDigits) {
      const auto magnitude = static_cast<int64_t>(significand);
      return PythonRef(checked(PyLong_FromLongLong(negative ? -magnitude : magnitude)));
    }
    // PyLong_FromString applies Python's int digit limit with json.loads' message.
    scratch.assign(begin, cursor);
    return PythonRef(checked(PyLong_FromString(scratch.c_str(), nullptr, 10)));
  }

  const int decimal_exponent = explicit_exponent - static_cast<int>(fraction_digits);
  if (integer_digits + fraction_digits <= kFastPathMaxDigits &&
      decimal_exponent >= -kFastPathMaxExponent && decimal_exponent <= kFastPathMaxExponent) {
    double value = static_cast<double>(significand);
    value = decimal_exponent < 0 ? value / kExactPowersOfTen[-decimal_exponent]
                                 : value * kExactPowersOfTen[decimal_exponent];
    return PythonRef(checked(PyFloat_FromDouble(negative ? -value : value)));
  }

  double value = 0;
  const std::from_chars_result parsed = std::from_chars(begin, cursor, value);
  if (parsed.ec == std::errc() && parsed.ptr == cursor) {
    return PythonRef(checked(PyFloat_FromDouble(value)));
  }
  // Out of double's range: CPython's own conversion gives json.loads' answer (inf, 0.0).
  scratch.assign(begin, cursor);
  value = PyOS_string_to_double(scratch.c_str(), nullptr, nullptr);
  if (value == -1.0 && PyErr_Occurred()) {
    throw DecodeError(take_python_error_message());
  }
  return PythonRef(checked(PyFloat_FromDouble(value)));
}

}  // namespace lamina::json
