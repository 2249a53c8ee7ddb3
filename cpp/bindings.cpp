// lamina._core: binds the native core to Python. Logic lives in cpp/http, cpp/json and
// cpp/runtime; this file only declares names, converts types and translates exceptions.
#include <pybind11/pybind11.h>

#include "runtime/invocation_loop.h"

namespace py = pybind11;

namespace {

void bind_json(py::module_& m) { (void)m; }

void bind_http(py::module_& m) { (void)m; }

void bind_runtime(py::module_& m) {
  using lamina::runtime::InvocationLoop;
  using lamina::runtime::PythonHooks;
  using lamina::runtime::RuntimeApiClient;
  py::class_<InvocationLoop>(m, "InvocationLoop",
                             "The native invocation loop: next, handler, response/error, repeated.")
      .def(py::init([](RuntimeApiClient& client, py::handle hooks, bool keep_serving_on_failures) {
             return std::make_unique<InvocationLoop>(client, PythonHooks::from_object(hooks),
                                                     keep_serving_on_failures);
           }),
           py::arg("client"), py::arg("hooks"), py::arg("keep_serving_on_failures") = false,
           py::keep_alive<1, 2>())
      .def("run", &InvocationLoop::run, py::arg("max_invocations") = 0,
           "Serves invocations until the handler raises a BaseException or the Runtime API fails.");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "lamina's native core: Runtime API client, payload codec, invocation loop";
  bind_json(m);
  bind_http(m);
  bind_runtime(m);
}
