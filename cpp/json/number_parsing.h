// JSON numbers -> Python int/float, reading exactly what json.loads reads.
#pragma once

#include <cstdint>
#include <string>

#include "json/python_ref.h"

namespace lamina::json {

// One JSON number as matched by the grammar below, before any conversion: what parse_number
// builds a Python int/float from, and what the numeric-array decoder (numeric_arrays.h) writes
// straight into an array's buffer without a Python object per element.
struct NumberSyntax {
  const char* begin = nullptr;  // the '-' or first digit
  const char* end = nullptr;    // just past the match
  // The digits of the integer and fraction parts, folded in order; exact while there are at
  // most 19 of them (later ones may overflow harmlessly).
  uint64_t significand = 0;
  int integer_digits = 0;
  int fraction_digits = 0;
  int explicit_exponent = 0;  // saturated: anything this large leaves every fast path
  bool negative = false;
  bool is_float = false;  // has a fraction or an exponent: json.loads makes it a float
};

// Matches the longest prefix of [begin, limit) as parse_number describes. Returns false when
// no number starts at `begin`.
bool scan_number(const char* begin, const char* limit, NumberSyntax& number) noexcept;

// The correctly rounded double of a scanned number, float or integer. Beyond double's range
// it is +-inf (json.loads' 1e400; for an integer, where float() would raise, the caller
// decides). Requires the GIL only for those rare inputs; `scratch` is as for parse_number.
double number_to_double(const NumberSyntax& number, std::string& scratch);

// The exact value of an integer (not is_float) number; false when it is outside int64's range.
bool number_to_int64(const NumberSyntax& number, int64_t& value) noexcept;

// Reads the longest prefix of [begin, limit) matching -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
// (json.loads' number grammar; what follows is the caller's business, so "1." reads "1").
// A match with a fraction or exponent is a correctly rounded float (1e400 is inf, as in
// json.loads), otherwise an int of any size. Returns an empty ref when no number starts at
// `begin`; sets *number_end past the match otherwise. `scratch` is reused memory for the
// rare conversions that need a NUL-terminated copy.
// Throws DecodeError when Python refuses the value (the int digit limit, MemoryError).
PythonRef parse_number(const char* begin, const char* limit, const char** number_end,
                       std::string& scratch);

}  // namespace lamina::json
