// Small RAII helpers for the CPython C API, so a thrown DecodeError/EncodeError never leaks a
// reference or leaves a Python error set.
#pragma once

#include <Python.h>

#include <string>
#include <utility>

namespace lamina::json {

// Owns one strong reference (or none).
class PythonRef {
 public:
  PythonRef() noexcept = default;
  explicit PythonRef(PyObject* owned) noexcept : object_(owned) {}
  static PythonRef borrow(PyObject* borrowed) noexcept {
    Py_XINCREF(borrowed);
    return PythonRef(borrowed);
  }

  PythonRef(const PythonRef&) = delete;
  PythonRef& operator=(const PythonRef&) = delete;
  PythonRef(PythonRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  PythonRef& operator=(PythonRef&& other) noexcept {
    if (this != &other) {
      Py_XDECREF(object_);
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ~PythonRef() { Py_XDECREF(object_); }

  PyObject* get() const noexcept { return object_; }
  PyObject* release() noexcept { return std::exchange(object_, nullptr); }
  explicit operator bool() const noexcept { return object_ != nullptr; }

 private:
  PyObject* object_ = nullptr;
};

// Takes the pending Python exception and returns str(exception); no error is left set.
// Used to turn a MemoryError or the int digit limit ValueError into a codec error message.
std::string take_python_error_message();

// Clears the pending Python exception if it is an instance of `type` and reports whether it was.
bool clear_python_error_if(PyObject* type);

// o.__class__.__name__, the name simplejson puts in its messages.
std::string class_name_of(PyObject* object);

}  // namespace lamina::json
