// libFuzzer target over the payload codec, built with ASan and UBSan by fuzz/run.sh. Each
// input is decoded as a document and also read as a little program that builds a Python
// value to encode (codec_oracle.values_from_bytes); codec_oracle.py then checks the results
// against Python's json. The codec runs natively here (its code is what libFuzzer's coverage
// sees); the oracle is plain Python in an embedded interpreter.
//
// Any crash, sanitizer report, Python error left set, or oracle disagreement aborts.
#include <Python.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "json/codec.h"
#include "json/python_ref.h"

namespace {

using lamina::json::PythonRef;

PyObject* check_decoding = nullptr;  // codec_oracle functions, kept for the process
PyObject* values_from_bytes = nullptr;
PyObject* check_encoding = nullptr;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "codec_fuzzer: %s\n", what);
  if (PyErr_Occurred()) {
    PyErr_Print();
  }
  std::abort();
}

PyObject* none_if_null(PyObject* object) { return object != nullptr ? object : Py_None; }

// decode() as the runtime calls it: a value, or the error message.
PythonRef decode_or_message(std::string_view document, std::string& message) {
  try {
    PythonRef decoded(lamina::json::decode(document));
    if (PyErr_Occurred()) {
      fail("decode returned with a Python error set");
    }
    return decoded;
  } catch (const lamina::json::DecodeError& error) {
    if (PyErr_Occurred()) {
      fail("decode threw with a Python error set");
    }
    message = error.what();
    if (message.empty()) {
      fail("decode threw an empty message");
    }
    return PythonRef();
  }
}

PythonRef encode_or_message(PyObject* value, std::string& message) {
  try {
    PythonRef encoded(lamina::json::encode_to_bytes(value));
    if (PyErr_Occurred()) {
      fail("encode returned with a Python error set");
    }
    return encoded;
  } catch (const lamina::json::EncodeError& error) {
    if (PyErr_Occurred()) {
      fail("encode threw with a Python error set");
    }
    message = error.what();
    return PythonRef();
  }
}

PythonRef message_object(const std::string& message, bool failed) {
  if (!failed) {
    return PythonRef::borrow(Py_None);
  }
  PythonRef text(PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace"));
  if (!text) {
    fail("cannot build the message str");
  }
  return text;
}

void fuzz_decoding(const uint8_t* data, size_t size) {
  const std::string_view document(reinterpret_cast<const char*>(data), size);
  std::string decode_message;
  PythonRef decoded = decode_or_message(document, decode_message);
  PythonRef encoded;
  PythonRef decoded_again;
  std::string again_message;
  if (decoded) {
    // Whatever decodes must encode, and read back the same.
    std::string encode_message;
    encoded = encode_or_message(decoded.get(), encode_message);
    if (!encoded) {
      fail(("a decoded value did not encode: " + encode_message).c_str());
    }
    // It may not decode again only when it holds a float beyond double's range ("1e400"
    // reads as inf and is written as Infinity, which decoding rejects): the oracle checks.
    decoded_again = decode_or_message(
        std::string_view(PyBytes_AS_STRING(encoded.get()), static_cast<size_t>(PyBytes_GET_SIZE(encoded.get()))),
        again_message);
  }
  PythonRef bytes(PyBytes_FromStringAndSize(document.data(), static_cast<Py_ssize_t>(size)));
  // None is a value (null), so failures are told by their messages, None on success.
  PythonRef message = message_object(decode_message, !decoded);
  PythonRef again = message_object(again_message, decoded && !decoded_again);
  PythonRef verdict(PyObject_CallFunctionObjArgs(check_decoding, bytes.get(), none_if_null(decoded.get()),
                                                 message.get(), none_if_null(encoded.get()),
                                                 none_if_null(decoded_again.get()), again.get(), nullptr));
  if (!verdict) {
    fail("decoding disagrees with the oracle");
  }
}

void fuzz_encoding(const uint8_t* data, size_t size) {
  PythonRef bytes(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(data), static_cast<Py_ssize_t>(size)));
  PythonRef value(PyObject_CallOneArg(values_from_bytes, bytes.get()));
  if (!value) {
    fail("values_from_bytes failed");
  }
  std::string encode_message;
  PythonRef encoded = encode_or_message(value.get(), encode_message);
  PythonRef message = message_object(encode_message, !encoded);
  PythonRef verdict(PyObject_CallFunctionObjArgs(check_encoding, value.get(), none_if_null(encoded.get()),
                                                 message.get(), nullptr));
  if (!verdict) {
    fail("encoding disagrees with the oracle");
  }
}

PyObject* oracle_function(PyObject* module, const char* name) {
  PyObject* function = PyObject_GetAttrString(module, name);
  if (function == nullptr) {
    fail(name);
  }
  return function;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Py_InitializeEx(0);  // No signal handlers: libFuzzer owns them.
  PythonRef path(PySys_GetObject("path") != nullptr ? PythonRef::borrow(PySys_GetObject("path")) : PythonRef());
  PythonRef folder(PyUnicode_FromString(LAMINA_FUZZ_DIR));
  if (!path || !folder || PyList_Insert(path.get(), 0, folder.get()) != 0) {
    fail("cannot extend sys.path");
  }
  PythonRef module(PyImport_ImportModule("codec_oracle"));
  if (!module) {
    fail("cannot import codec_oracle");
  }
  check_decoding = oracle_function(module.get(), "check_decoding");
  values_from_bytes = oracle_function(module.get(), "values_from_bytes");
  check_encoding = oracle_function(module.get(), "check_encoding");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_decoding(data, size);
  fuzz_encoding(data, size);
  return 0;
}
