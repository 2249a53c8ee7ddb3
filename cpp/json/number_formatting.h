// Python numbers -> JSON text, byte for byte what repr() writes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lamina::json {

// Room for any output of the functions below.
inline constexpr size_t kMaxNumberTextLength = 32;

// Writes repr(value) for a finite double: the shortest digits that round-trip, laid out as
// Python does (fixed notation when the decimal exponent is in [-4, 16), otherwise d.ddde+XX
// with at least two exponent digits; always recognisable as a float: "1.0", "1e+16").
// Returns the number of bytes written to `out` (at least kMaxNumberTextLength long).
size_t format_double_repr(double value, char* out) noexcept;

// Writes a decimal int64. Returns the number of bytes written.
size_t format_int64(int64_t value, char* out) noexcept;

}  // namespace lamina::json
