#include "json/number_parsing.h"

#include <charconv>
#include <cstdint>
#include <system_error>

#include "json/codec.h"

namespace lamina::json {

namespace {

inline bool is_digit(char byte) noexcept { return byte >= '0' && byte <= '9'; }

// Fewer digits than this always fit an int64, so they skip Python's arbitrary-precision parser.
constexpr ptrdiff_t kInt64SafeDigits = 18;

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
  const char* const integer_begin = cursor;
  if (*cursor == '0') {
    ++cursor;
  } else if (*cursor >= '1' && *cursor <= '9') {
    ++cursor;
    while (cursor < limit && is_digit(*cursor)) {
      ++cursor;
    }
  } else {
    return {};
  }
  const char* const integer_end = cursor;

  bool is_float = false;
  if (limit - cursor >= 2 && cursor[0] == '.' && is_digit(cursor[1])) {
    cursor += 2;
    while (cursor < limit && is_digit(*cursor)) {
      ++cursor;
    }
    is_float = true;
  }
  if (cursor < limit && (*cursor == 'e' || *cursor == 'E')) {
    const char* exponent = cursor + 1;
    if (exponent < limit && (*exponent == '+' || *exponent == '-')) {
      ++exponent;
    }
    const char* const exponent_digits = exponent;
    while (exponent < limit && is_digit(*exponent)) {
      ++exponent;
    }
    // "1e" and "1e+" are the int 1 followed by something else, as json.loads reads them.
    if (exponent > exponent_digits) {
      cursor = exponent;
      is_float = true;
    }
  }
  *number_end = cursor;

  if (!is_float) {
    if (integer_end - integer_begin <= kInt64SafeDigits) {
      int64_t magnitude = 0;
      for (const char* digit = integer_begin; digit < integer_end; ++digit) {
        magnitude = magnitude * 10 + (*digit - '0');
      }
      return PythonRef(checked(PyLong_FromLongLong(negative ? -magnitude : magnitude)));
    }
    // PyLong_FromString applies Python's int digit limit with json.loads' message.
    scratch.assign(begin, cursor);
    return PythonRef(checked(PyLong_FromString(scratch.c_str(), nullptr, 10)));
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
