// JSON numbers -> Python int/float, reading exactly what json.loads reads.
#pragma once

#include <string>

#include "json/python_ref.h"

namespace lamina::json {

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
