// The payload codec: event bytes -> Python objects, handler results -> JSON bytes.
// Contract: ../shared/spec/codec.md. Semantics follow Python's json (the oracle) and
// awslambdaric's simplejson encoder, output is compact.
#pragma once

#include <Python.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace lamina::json {

// Deepest nesting of arrays/objects accepted by decode() and encode(); documented in the README.
inline constexpr int kMaxDepth = 10000;

// Why an event could not be decoded, worded as simplejson words it
// ("Expecting value: line 1 column 1 (char 0)"). The runtime reports it as
// Runtime.UnmarshalError "Unable to unmarshal input: <message>".
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why a result could not be encoded ("Object of type datetime is not JSON serializable").
// The runtime reports it as Runtime.MarshalError "Unable to marshal response: <message>".
class EncodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Decodes one JSON document. Returns a new reference. Requires the GIL.
// Throws DecodeError for any input json.loads would reject, and for what simplejson also
// rejects on input: NaN/Infinity literals and UTF-8-encoded surrogates. The message is
// simplejson's for the same input. Never leaves a Python error set.
PyObject* decode(std::string_view document);

// Appends the compact JSON text of `value` to `out`. Requires the GIL.
// Throws EncodeError; never leaves a Python error set. On failure `out` is left as it was.
void encode(PyObject* value, std::string& out);

// encode() into a buffer the codec reuses from call to call, returned as a new bytes object.
// Requires the GIL. Throws EncodeError; never leaves a Python error set.
PyObject* encode_to_bytes(PyObject* value);

}  // namespace lamina::json
