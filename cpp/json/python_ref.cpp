#include "json/python_ref.h"

namespace lamina::json {

namespace {

std::string utf8_of(PyObject* text) {
  Py_ssize_t length = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &length);
  if (data == nullptr) {
    // A str() holding lone surrogates cannot be UTF-8; say something rather than nothing.
    PyErr_Clear();
    return "<unprintable error message>";
  }
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

std::string take_python_error_message() {
#if PY_VERSION_HEX >= 0x030C0000
  PythonRef exception(PyErr_GetRaisedException());
#else
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  PythonRef type_ref(type);
  PythonRef traceback_ref(traceback);
  PythonRef exception(value);
#endif
  if (!exception) {
    return "unknown error";
  }
  PythonRef text(PyObject_Str(exception.get()));
  if (!text) {
    PyErr_Clear();
    return "<unprintable error message>";
  }
  return utf8_of(text.get());
}

bool clear_python_error_if(PyObject* type) {
  if (PyErr_ExceptionMatches(type)) {
    PyErr_Clear();
    return true;
  }
  return false;
}

std::string class_name_of(PyObject* object) {
  PythonRef type(PyObject_GetAttrString(object, "__class__"));
  if (type) {
    PythonRef name(PyObject_GetAttrString(type.get(), "__name__"));
    if (name && PyUnicode_Check(name.get())) {
      return utf8_of(name.get());
    }
  }
  // A proxy whose __class__ misbehaves: fall back to the real type, as type(o).__name__ would.
  PyErr_Clear();
  PythonRef name(PyObject_GetAttrString(reinterpret_cast<PyObject*>(Py_TYPE(object)), "__name__"));
  if (name && PyUnicode_Check(name.get())) {
    return utf8_of(name.get());
  }
  PyErr_Clear();
  return Py_TYPE(object)->tp_name;
}

}  // namespace lamina::json
