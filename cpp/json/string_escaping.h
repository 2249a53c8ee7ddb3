// Python str -> JSON string: UTF-8 with only '"', '\\' and control characters escaped
// (simplejson's ensure_ascii=False), and lone surrogates, which UTF-8 cannot carry, escaped.
#pragma once

#include <Python.h>

#include "json/output_writer.h"

namespace lamina::json {

// Writes `text` (a str or str subclass, read as its str value) with its quotes.
// Throws EncodeError if the str cannot be read (only legacy, not-ready strings can fail).
void write_json_string(PyObject* text, OutputWriter& writer);

// Writes the UTF-8 bytes of [data, data + length), which must be valid UTF-8, as a JSON string.
void write_json_string_utf8(const char* data, size_t length, OutputWriter& writer);

}  // namespace lamina::json
