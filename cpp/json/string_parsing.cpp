#include "json/string_parsing.h"

#include <cstring>

#include "json/codec.h"

namespace lamina::json {

PyObject* make_python_string(const StringText& text) {
  PyObject* result;
  if (text.is_ascii) {
    // The common case: no decoding at all, one allocation and a copy.
    result = PyUnicode_New(static_cast<Py_ssize_t>(text.length), 127);
    if (result != nullptr) {
      std::memcpy(PyUnicode_1BYTE_DATA(result), text.data, text.length);
    }
  } else {
    // The document was validated as UTF-8, so this cannot fail on the bytes themselves.
    result = PyUnicode_DecodeUTF8(text.data, static_cast<Py_ssize_t>(text.length),
                                  text.has_surrogates ? "surrogatepass" : nullptr);
  }
  if (result == nullptr) {
    throw DecodeError(take_python_error_message());
  }
  return result;
}

}  // namespace lamina::json
