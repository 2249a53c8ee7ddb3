#include "json/number_parsing.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <system_error>

#include "json/codec.h"

namespace lamina::json {

namespace {

inline bool is_digit(char byte) noexcept { return byte >= '0' && byte <= '9'; }

// Up to this many digits always fit an int64, so they skip Python's arbitrary-precision parser.
constexpr ptrdiff_t kInt64SafeDigits = 18;

// Clinger's fast path: a significand below 2^53 times an exactly representable power of ten
// is one correctly rounded IEEE operation. 15 digits keep the significand below 2^53; up to
// 19 digits it is still exact in the uint64 and may be checked against 2^53 (most 16-digit
// significands are below it: random doubles printed with repr() have 16 or 17 digits).
constexpr ptrdiff_t kFastPathMaxDigits = 15;
constexpr int kExactSignificandDigits = 19;
constexpr uint64_t kMaxExactSignificand = uint64_t{1} << 53;
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

bool scan_number(const char* begin, const char* limit, NumberSyntax& number) noexcept {
  const char* cursor = begin;
  number.begin = begin;
  number.negative = cursor < limit && *cursor == '-';
  if (number.negative) {
    ++cursor;
  }
  if (cursor == limit) {
    return false;
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
    return false;
  }
  number.integer_digits = static_cast<int>(cursor - integer_begin);

  bool is_float = false;
  number.fraction_digits = 0;
  if (limit - cursor >= 2 && cursor[0] == '.' && is_digit(cursor[1])) {
    ++cursor;
    const char* const fraction_begin = cursor;
    cursor = scan_digits(cursor, limit, significand);
    number.fraction_digits = static_cast<int>(cursor - fraction_begin);
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
  number.end = cursor;
  number.significand = significand;
  number.explicit_exponent = explicit_exponent;
  number.is_float = is_float;
  return true;
}

double number_to_double(const NumberSyntax& number, std::string& scratch) {
  const int decimal_exponent = number.explicit_exponent - number.fraction_digits;
  const int digits = number.integer_digits + number.fraction_digits;
  if ((digits <= kFastPathMaxDigits || (digits <= kExactSignificandDigits && number.significand <= kMaxExactSignificand)) &&
      decimal_exponent >= -kFastPathMaxExponent && decimal_exponent <= kFastPathMaxExponent) {
    double value = static_cast<double>(number.significand);
    value = decimal_exponent < 0 ? value / kExactPowersOfTen[-decimal_exponent]
                                 : value * kExactPowersOfTen[decimal_exponent];
    return number.negative ? -value : value;
  }

  double value = 0;
  const std::from_chars_result parsed = std::from_chars(number.begin, number.end, value);
  if (parsed.ec == std::errc() && parsed.ptr == number.end) {
    return value;
  }
  // Out of double's range: CPython's own conversion gives json.loads' answer (inf, 0.0).
  scratch.assign(number.begin, number.end);
  value = PyOS_string_to_double(scratch.c_str(), nullptr, nullptr);
  if (value == -1.0 && PyErr_Occurred()) {
    throw DecodeError(take_python_error_message());
  }
  return value;
}

bool number_to_int64(const NumberSyntax& number, int64_t& value) noexcept {
  // 19 digits still fit the uint64 significand exactly; int64 ends at 9223372036854775807.
  constexpr int kInt64MaxDigits = 19;
  if (number.integer_digits > kInt64MaxDigits) {
    return false;
  }
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (number.negative ? 1 : 0);
  if (number.significand > limit) {
    return false;
  }
  value = number.negative ? static_cast<int64_t>(0 - number.significand) : static_cast<int64_t>(number.significand);
  return true;
}

PythonRef parse_number(const char* begin, const char* limit, const char** number_end,
                       std::string& scratch) {
  NumberSyntax number;
  if (!scan_number(begin, limit, number)) {
    return {};
  }
  *number_end = number.end;
  if (!number.is_float) {
    if (number.integer_digits <= kInt64SafeDigits) {
      const auto magnitude = static_cast<int64_t>(number.significand);
      return PythonRef(checked(PyLong_FromLongLong(number.negative ? -magnitude : magnitude)));
    }
    // PyLong_FromString applies Python's int digit limit with json.loads' message.
    scratch.assign(begin, number.end);
    return PythonRef(checked(PyLong_FromString(scratch.c_str(), nullptr, 10)));
  }
  return PythonRef(checked(PyFloat_FromDouble(number_to_double(number, scratch))));
}

}  // namespace lamina::json
