// lamina._core: binds the native core to Python. Logic lives in cpp/http, cpp/json and
// cpp/runtime; this file only declares names, converts types and translates exceptions.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace {

void bind_json(py::module_& m) { (void)m; }

void bind_http(py::module_& m) { (void)m; }

void bind_runtime(py::module_& m) { (void)m; }

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "lamina's native core: Runtime API client, payload codec, invocation loop";
  bind_json(m);
  bind_http(m);
  bind_runtime(m);
}
