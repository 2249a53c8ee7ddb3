// lamina._core: binds the native core to Python. Logic lives in cpp/http, cpp/json and
// cpp/runtime; this file only declares names, converts types and translates exceptions.
#include <pybind11/pybind11.h>

#include <string_view>

#include "json/codec.h"
#include "json/python_ref.h"

namespace py = pybind11;

namespace {

// Owns a Py_buffer view for the length of one call.
class BufferView {
 public:
  explicit BufferView(PyObject* exporter) {
    if (PyObject_GetBuffer(exporter, &view_, PyBUF_SIMPLE) != 0) {
      throw py::error_already_set();
    }
  }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  ~BufferView() { PyBuffer_Release(&view_); }
  std::string_view bytes() const {
    return {static_cast<const char*>(view_.buf), static_cast<size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

py::object decode_json(py::handle data) {
  PyObject* source = data.ptr();
  if (PyBytes_Check(source)) {
    return py::reinterpret_steal<py::object>(lamina::json::decode(
        {PyBytes_AS_STRING(source), static_cast<size_t>(PyBytes_GET_SIZE(source))}));
  }
  if (PyUnicode_Check(source)) {
    Py_ssize_t length = 0;
    const char* text = PyUnicode_AsUTF8AndSize(source, &length);
    if (text == nullptr) {
      // Lone surrogates have no UTF-8 form; the codec reads UTF-8 only.
      throw lamina::json::DecodeError(lamina::json::take_python_error_message());
    }
    return py::reinterpret_steal<py::object>(
        lamina::json::decode({text, static_cast<size_t>(length)}));
  }
  if (PyObject_CheckBuffer(source)) {
    BufferView view(source);
    return py::reinterpret_steal<py::object>(lamina::json::decode(view.bytes()));
  }
  throw py::type_error("decode_json() argument must be bytes, bytearray, memoryview or str, not " +
                       std::string(Py_TYPE(source)->tp_name));
}

void bind_json(py::module_& m) {
  py::register_exception<lamina::json::DecodeError>(m, "JSONDecodeError", PyExc_ValueError);
  py::register_exception<lamina::json::EncodeError>(m, "JSONEncodeError", PyExc_ValueError);
  m.def("decode_json", &decode_json, py::arg("data"),
        "Decodes one JSON document (bytes, bytearray, C-contiguous memoryview, or str) as "
        "json.loads would, rejecting NaN/Infinity like awslambdaric's simplejson. Raises "
        "JSONDecodeError with simplejson's message.");
  m.def(
      "encode_json",
      [](py::handle value) {
        return py::reinterpret_steal<py::bytes>(lamina::json::encode_to_bytes(value.ptr()));
      },
      py::arg("value"),
      "Encodes a handler result as compact JSON bytes, as awslambdaric's marshaller would "
      "(Decimal, namedtuple, NaN, ...). Raises JSONEncodeError with simplejson's message. "
      "A bytes result is encoded as a UTF-8 string like nested bytes; the runtime sends a "
      "bytes result verbatim instead of calling this.");
}

void bind_http(py::module_& m) { (void)m; }

void bind_runtime(py::module_& m) { (void)m; }

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "lamina's native core: Runtime API client, payload codec, invocation loop";
  bind_json(m);
  bind_http(m);
  bind_runtime(m);
}
