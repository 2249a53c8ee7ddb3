#include "json/number_parsing.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <system_error>

#include "json/codec.h"
#include "json/powers_of_five.h"

namespace lamina::json {

namespace {

inline bool is_digit(char byte) noexcept { return byte >= '0' && byte <= '9'; }

// Up to this many digits always fit an int64, so they skip Python's arbitrary-precision parser.
constexpr ptrdiff_t kInt64SafeDigits = 18;

// Clinger's fast path: a significand below 2^53 times an exactly representable power of ten
// is one correctly rounded IEEE operation. 15 digits keep the significand below 2^53. (Longer
// significands that happen to be below 2^53 are left to Eisel-Lemire: measured, its multiply
// beats the division the fast path would need for them.)
constexpr ptrdiff_t kFastPathMaxDigits = 15;
// Up to 19 significant digits fit the uint64 significand exactly: Eisel-Lemire's domain.
constexpr int kExactSignificandDigits = 19;
constexpr int kFastPathMaxExponent = 22;
constexpr double kExactPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Eight digits at a time (SWAR, simdjson's parse_eight_digits_unrolled): long numbers are
// the common case in float arrays.
inline uint64_t load_word(const char* cursor) noexcept {
  uint64_t word;
  std::memcpy(&word, cursor, sizeof(word));
  return word;
}

// A byte of 0x80 marks each byte of `word` that is not an ASCII digit.
inline uint64_t non_digit_bytes(uint64_t word) noexcept {
  const uint64_t below_or_above = (word & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL;
  const uint64_t above_nine = ((word + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL;
  const uint64_t flagged = below_or_above | above_nine;
  // Any bit set in a byte -> its top bit.
  return ((flagged & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL | flagged) & 0x8080808080808080ULL;
}

inline uint64_t parse_eight_digits(uint64_t word) noexcept {
  word = (word & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
  word = (word & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
  return (word & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
}

constexpr uint64_t kPowersOfTen[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// Scans the digits from `cursor` on, folding them into `significand`.
inline const char* scan_digits(const char* cursor, const char* limit, uint64_t& significand) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (limit - cursor >= 8) {
    const uint64_t word = load_word(cursor);
    const uint64_t non_digits = non_digit_bytes(word);
    if (non_digits == 0) {
      significand = significand * 100000000 + parse_eight_digits(word);
      cursor += 8;
      continue;
    }
    // Fewer than eight digits left: move them to the word's high end, fill the low end
    // with '0's, and parse the word as eight digits.
    const int digits = __builtin_ctzll(non_digits) / 8;
    if (digits > 0) {
      const int shift = 8 * (8 - digits);
      const uint64_t padded = (word << shift) | (0x3030303030303030ULL >> (64 - shift));
      significand = significand * kPowersOfTen[digits] + parse_eight_digits(padded);
      cursor += digits;
    }
    return cursor;
  }
#endif
  while (cursor < limit && is_digit(*cursor)) {
    significand = significand * 10 + static_cast<uint64_t>(*cursor - '0');
    ++cursor;
  }
  return cursor;
}

// Eisel-Lemire (Lemire, "Number parsing at a gigabyte per second", 2021, as fast_float does
// it): significand * 10^exponent, correctly rounded to nearest-even, from one or two 64x64-bit
// multiplications by a truncated 128-bit power of five. `significand` must be exact (at most
// 19 digits) and non-zero. False in the rare case the product is too close to a rounding
// boundary to decide; the caller then takes the slow, exact path.
bool eisel_lemire(uint64_t significand, int exponent, double& result) noexcept {
  constexpr int kMantissaBits = 52;
  if (exponent < detail::kSmallestPowerOfFive) {
    result = 0.0;  // Below half the smallest subnormal even with 19 digits.
    return true;
  }
  if (exponent > detail::kLargestPowerOfFive) {
    result = HUGE_VAL;  // At least 1e309.
    return true;
  }
  const int leading_zeros = __builtin_clzll(significand);
  const uint64_t normalized = significand << leading_zeros;
  const size_t index = 2 * static_cast<size_t>(exponent - detail::kSmallestPowerOfFive);
  __uint128_t product = static_cast<__uint128_t>(normalized) * detail::kPowersOfFive128[index];
  auto high = static_cast<uint64_t>(product >> 64);
  auto low = static_cast<uint64_t>(product);
  // The top 55 bits decide the result (52 + implicit bit + round bit + one for the shift);
  // when all the bits below them are ones, a carry from the power's low word could change
  // them, so that word is multiplied in too.
  constexpr uint64_t kPrecisionMask = ~uint64_t{0} >> (kMantissaBits + 3);
  if ((high & kPrecisionMask) == kPrecisionMask) {
    const __uint128_t second = static_cast<__uint128_t>(normalized) * detail::kPowersOfFive128[index + 1];
    const auto second_high = static_cast<uint64_t>(second >> 64);
    low += second_high;
    if (second_high > low) {
      ++high;
    }
    // 5^exponent is exact in 128 bits only for exponents in [-27, 55]; elsewhere an
    // all-ones low word leaves the rounding undecided.
    if (low == ~uint64_t{0} && (exponent < -27 || exponent > 55)) {
      return false;
    }
  }
  const int upper_bit = static_cast<int>(high >> 63);
  uint64_t mantissa = high >> (upper_bit + 64 - kMantissaBits - 3);
  // floor(log2(10^exponent)) + 63, then the bias and the normalisation shift.
  int power2 = ((217706 * exponent) >> 16) + 63 + upper_bit - leading_zeros + 1023;
  if (power2 <= 0) {
    // Subnormal (or zero): shift into place, then round half to even.
    if (-power2 + 1 >= 64) {
      result = 0.0;
      return true;
    }
    mantissa >>= -power2 + 1;
    mantissa += mantissa & 1;
    mantissa >>= 1;
    power2 = mantissa < (uint64_t{1} << kMantissaBits) ? 0 : 1;
    const uint64_t bits = (static_cast<uint64_t>(power2) << kMantissaBits) |
                          (mantissa & ~(uint64_t{1} << kMantissaBits));
    std::memcpy(&result, &bits, sizeof(result));
    return true;
  }
  // An exact tie (possible only for small exponents) rounds to even, not up.
  if (low <= 1 && exponent >= -4 && exponent <= 23 && (mantissa & 3) == 1 &&
      (mantissa << (upper_bit + 64 - kMantissaBits - 3)) == high) {
    mantissa &= ~uint64_t{1};
  }
  mantissa += mantissa & 1;
  mantissa >>= 1;
  if (mantissa >= (uint64_t{2} << kMantissaBits)) {
    mantissa = uint64_t{1} << kMantissaBits;
    ++power2;
  }
  mantissa &= ~(uint64_t{1} << kMantissaBits);
  if (power2 >= 0x7FF) {
    result = HUGE_VAL;
    return true;
  }
  const uint64_t bits = (static_cast<uint64_t>(power2) << kMantissaBits) | mantissa;
  std::memcpy(&result, &bits, sizeof(result));
  return true;
}

// Digits that carry value: all of them, less the zeros that lead the integer "0" and the
// fraction after it ("0.00012" has two).
inline ptrdiff_t significant_digits(const char* integer_begin, ptrdiff_t integer_digits,
                                    const char* fraction_begin, ptrdiff_t fraction_digits) noexcept {
  if (*integer_begin != '0') {
    return integer_digits + fraction_digits;
  }
  ptrdiff_t leading_zeros = 0;
  while (leading_zeros < fraction_digits && fraction_begin[leading_zeros] == '0') {
    ++leading_zeros;
  }
  return fraction_digits - leading_zeros;
}

PyObject* checked(PyObject* created) {
  if (created == nullptr) {
    throw DecodeError(take_python_error_message());
  }
  return created;
}

}  // namespace

namespace {

// Inlined into parse_number and into the exported functions: the decoder reads every number
// of an event through here, and a call per step costs it ~20% on float arrays.
[[gnu::always_inline]] inline bool scan_number_inline(const char* begin, const char* limit, NumberSyntax& number) noexcept {
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
    // Integer parts are mostly a few digits: a byte loop beats the word arithmetic there,
    // and hands long ones (big ints, integral floats) to it after four digits.
    const char* const short_end = limit - cursor > 4 ? cursor + 4 : limit;
    while (cursor < short_end && is_digit(*cursor)) {
      significand = significand * 10 + static_cast<uint64_t>(*cursor - '0');
      ++cursor;
    }
    if (cursor == short_end) {
      cursor = scan_digits(cursor, limit, significand);
    }
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

[[gnu::always_inline]] inline double number_to_double_inline(const NumberSyntax& number, std::string& scratch) {
  const int decimal_exponent = number.explicit_exponent - number.fraction_digits;
  const int digits = number.integer_digits + number.fraction_digits;
  if (digits <= kFastPathMaxDigits &&
      decimal_exponent >= -kFastPathMaxExponent && decimal_exponent <= kFastPathMaxExponent) {
    double value = static_cast<double>(number.significand);
    value = decimal_exponent < 0 ? value / kExactPowersOfTen[-decimal_exponent]
                                 : value * kExactPowersOfTen[decimal_exponent];
    return number.negative ? -value : value;
  }

  double value = 0;
  const char* const integer_begin = number.begin + (number.negative ? 1 : 0);
  const char* const fraction_begin = integer_begin + number.integer_digits + 1;  // past the '.'
  if (significant_digits(integer_begin, number.integer_digits, fraction_begin, number.fraction_digits) <=
      kExactSignificandDigits) {
    if (number.significand == 0) {
      return number.negative ? -0.0 : 0.0;
    }
    if (eisel_lemire(number.significand, decimal_exponent, value)) {
      return number.negative ? -value : value;
    }
  }
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

}  // namespace

bool scan_number(const char* begin, const char* limit, NumberSyntax& number) noexcept {
  return scan_number_inline(begin, limit, number);
}

double number_to_double(const NumberSyntax& number, std::string& scratch) {
  return number_to_double_inline(number, scratch);
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
  if (!scan_number_inline(begin, limit, number)) {
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
  return PythonRef(checked(PyFloat_FromDouble(number_to_double_inline(number, scratch))));
}

}  // namespace lamina::json
