#include "json/number_formatting.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "json/schubfach_table.h"

namespace lamina::json {

namespace {

// A decimal: significand * 10^exponent.
struct Decimal {
  uint64_t significand;
  int exponent;
};

constexpr int kSignificandBits = 52;
constexpr int kMinBinaryExponent = -1074;  // of the smallest subnormal's unit
constexpr uint64_t kHiddenBit = uint64_t{1} << kSignificandBits;
constexpr uint64_t kMask63 = (uint64_t{1} << 63) - 1;

// floor(e * log10(2)), floor(log10(3/4 * 2^e)) and floor(e * log2(10)), exact over the
// exponents of doubles (fixed-point constants from the JDK's MathUtils).
inline int floor_log10_pow2(int e) noexcept { return static_cast<int>((int64_t{e} * 661971961083LL) >> 41); }
inline int floor_log10_three_quarters_pow2(int e) noexcept {
  return static_cast<int>((int64_t{e} * 661971961083LL - 274743187321LL) >> 41);
}
inline int floor_log2_pow10(int e) noexcept { return static_cast<int>((int64_t{e} * 913124641741LL) >> 38); }

inline uint64_t multiply_high(uint64_t a, uint64_t b) noexcept {
  return static_cast<uint64_t>((static_cast<__uint128_t>(a) * b) >> 64);
}

// floor(g * cp / 2^127), its lowest bit forced to 1 when the division is inexact ("round to
// odd"): enough to compare with the interval's bounds exactly.
inline uint64_t round_to_odd(const detail::Power126& g, uint64_t cp) noexcept {
  const uint64_t x1 = multiply_high(g.low, cp);
  const uint64_t y0 = g.high * cp;
  const uint64_t y1 = multiply_high(g.high, cp);
  const uint64_t z = (y0 >> 1) + x1;
  const uint64_t vbp = y1 + (z >> 63);
  return vbp | (((z & kMask63) + kMask63) >> 63);
}

// Schubfach (Giulietti, "The Schubfach way to render doubles", 2020; the JDK's
// DoubleToDecimal): the shortest decimal in the rounding interval of c * 2^q, the closest to
// it when several are as short (ties to even digit). That is Python's repr's choice too.
Decimal schubfach(int q, uint64_t c, int dk) noexcept {
  const uint64_t out = c & 1;  // Odd c: the interval's bounds round away, so are excluded.
  const uint64_t cb = c << 2;
  const uint64_t cbr = cb + 2;
  uint64_t cbl;
  int k;
  if (c != kHiddenBit || q == kMinBinaryExponent) {
    cbl = cb - 2;
    k = floor_log10_pow2(q);
  } else {
    // A power of two: the gap below is half the gap above.
    cbl = cb - 1;
    k = floor_log10_three_quarters_pow2(q);
  }
  const int h = q + floor_log2_pow10(-k) + 2;
  const detail::Power126& g = detail::kSchubfachPowers[k - detail::kSchubfachMinK];
  const uint64_t vb = round_to_odd(g, cb << h);
  const uint64_t vbl = round_to_odd(g, cbl << h);
  const uint64_t vbr = round_to_odd(g, cbr << h);

  const uint64_t s = vb >> 2;
  if (s >= 10) {
    // One digit shorter: the multiples of ten around s (at most one is in the interval).
    // The JDK tries this from s >= 100 only, as Java wants at least two digits; repr wants
    // the shortest (5e-323, not 4.9e-323).
    const uint64_t sp10 = 10 * multiply_high(s, 115292150460684698ULL << 4);
    const uint64_t tp10 = sp10 + 10;
    const bool upin = vbl + out <= sp10 << 2;
    const bool wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) {
      return {upin ? sp10 : tp10, k};
    }
  }
  const uint64_t t = s + 1;
  const bool uin = vbl + out <= s << 2;
  const bool win = (t << 2) + out <= vbr;
  if (uin != win) {
    return {uin ? s : t, k + dk};
  }
  // Both in the interval: the closer to the value, the even one on a tie.
  const int64_t compare = static_cast<int64_t>(vb - ((s + t) << 1));
  return {compare < 0 || (compare == 0 && (s & 1) == 0) ? s : t, k + dk};
}

// The shortest decimal of a finite, non-zero |value|, without trailing zeros.
Decimal shortest_decimal(double value) noexcept {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint64_t fraction = bits & (kHiddenBit - 1);
  const int biased_exponent = static_cast<int>((bits >> kSignificandBits) & 0x7FF);
  Decimal decimal;
  if (biased_exponent != 0) {
    const int q = biased_exponent - 1075;
    const uint64_t c = kHiddenBit | fraction;
    // Integers below 2^53 are their own shortest form.
    if (q < 0 && q > -kSignificandBits - 1 && ((c >> -q) << -q) == c) {
      decimal = {c >> -q, 0};
    } else {
      decimal = schubfach(q, c, 0);
    }
  } else {
    // Subnormal. The JDK computes the two smallest with one more digit and keeps it
    // (4.9E-324); their shortest forms, which repr writes, are 5e-324 and 1e-323.
    if (fraction == 1) {
      return {5, -324};
    }
    if (fraction == 2) {
      return {1, -323};
    }
    decimal = schubfach(kMinBinaryExponent, fraction, 0);
  }
  while (decimal.significand % 10 == 0) {
    decimal.significand /= 10;
    ++decimal.exponent;
  }
  return decimal;
}

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writes exactly eight digits of `value` (< 10^8) at `out`: two independent halves, so the
// divisions do not wait on each other.
inline void write_eight_digits(uint32_t value, char* out) noexcept {
  const uint32_t high = value / 10000;
  const uint32_t low = value % 10000;
  std::memcpy(out, kDigitPairs + (high / 100) * 2, 2);
  std::memcpy(out + 2, kDigitPairs + (high % 100) * 2, 2);
  std::memcpy(out + 4, kDigitPairs + (low / 100) * 2, 2);
  std::memcpy(out + 6, kDigitPairs + (low % 100) * 2, 2);
}

// Writes the decimal digits of `value` (at most 20) ending just before `end`; returns where
// they start. Writes nothing outside them.
inline char* write_digits_backwards(uint64_t value, char* end) noexcept {
  while (value >= 100000000) {
    end -= 8;
    write_eight_digits(static_cast<uint32_t>(value % 100000000), end);
    value /= 100000000;
  }
  while (value >= 100) {
    const auto pair = static_cast<size_t>(value % 100) * 2;
    value /= 100;
    end -= 2;
    std::memcpy(end, kDigitPairs + pair, 2);
  }
  if (value >= 10) {
    end -= 2;
    std::memcpy(end, kDigitPairs + value * 2, 2);
  } else {
    *--end = static_cast<char>('0' + value);
  }
  return end;
}

constexpr uint64_t kPowersOfTen[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
    1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
    1000000000000000000ULL, 10000000000000000000ULL};

// Number of decimal digits of `value` (> 0): log10 estimated from the bit width (1233 / 4096 is
// just above log10(2)), corrected by one comparison. No division chain.
inline int count_digits(uint64_t value) noexcept {
  const int bit_width = 64 - __builtin_clzll(value | 1);
  const int estimate = (bit_width * 1233) >> 12;
  return estimate + 1 - (value < kPowersOfTen[estimate] ? 1 : 0);
}

}  // namespace

size_t format_double_repr(double value, char* out) noexcept {
  char* cursor = out;
  if (std::signbit(value)) {
    *cursor++ = '-';
  }
  if (value == 0) {
    std::memcpy(cursor, "0.0", 3);
    return static_cast<size_t>(cursor + 3 - out);
  }
  const Decimal decimal = shortest_decimal(value);
  const int digit_count = count_digits(decimal.significand);
  // Digits are written once, in place, with exact stores: copying them from a scratch
  // buffer would reload bytes just stored, which stalls.
  // Position of the decimal point relative to the digits, as CPython's float_repr counts it:
  // fixed notation when it is in (-4, 16], otherwise d.ddde+XX.
  const int decimal_point = decimal.exponent + digit_count;
  if (decimal_point > -4 && decimal_point <= 16) {
    if (decimal_point <= 0) {
      *cursor++ = '0';
      *cursor++ = '.';
      for (int zero = 0; zero < -decimal_point; ++zero) {
        *cursor++ = '0';
      }
      cursor += digit_count;
      write_digits_backwards(decimal.significand, cursor);
    } else if (decimal_point >= digit_count) {
      cursor += digit_count;
      write_digits_backwards(decimal.significand, cursor);
      for (int zero = digit_count; zero < decimal_point; ++zero) {
        *cursor++ = '0';
      }
      *cursor++ = '.';
      *cursor++ = '0';
    } else {
      // All digits one place to the right, then the integer digits back over the gap (byte
      // moves: each reload lies within one earlier store) and the point in the gap.
      write_digits_backwards(decimal.significand, cursor + 1 + digit_count);
      for (int digit = 0; digit < decimal_point; ++digit) {
        cursor[digit] = cursor[digit + 1];
      }
      cursor[decimal_point] = '.';
      cursor += digit_count + 1;
    }
  } else {
    write_digits_backwards(decimal.significand, cursor + 1 + digit_count);
    cursor[0] = cursor[1];
    if (digit_count > 1) {
      cursor[1] = '.';
      cursor += digit_count + 1;
    } else {
      cursor += 1;
    }
    const int exponent = decimal_point - 1;
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
  char* cursor = out;
  // Negated as unsigned: -INT64_MIN does not fit an int64.
  uint64_t magnitude = static_cast<uint64_t>(value);
  if (value < 0) {
    *cursor++ = '-';
    magnitude = 0 - magnitude;
  }
  char buffer[24];
  char* const end = buffer + sizeof(buffer);
  const char* const start = write_digits_backwards(magnitude, end);
  const auto length = static_cast<size_t>(end - start);
  std::memcpy(cursor, start, length);
  return static_cast<size_t>(cursor - out) + length;
}

}  // namespace lamina::json
