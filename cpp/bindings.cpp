// lamina._core: binds the native core to Python. Logic lives in cpp/http, cpp/json and
// cpp/runtime; this file only declares names, converts types and translates exceptions.
#include <Python.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/errors.h"
#include "http/message_parser.h"
#include "http/message_writer.h"
#include "json/codec.h"
#include "json/kernel.h"
#include "json/numeric_arrays.h"
#include "json/scanner.h"
#include "json/python_ref.h"
#include "runtime/allocator.h"
#include "runtime/invocation_loop.h"
#include "runtime/runtime_api_client.h"

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

// Runs `decode` on the UTF-8 bytes of `data`: bytes, str, or any C-contiguous buffer.
template <typename Decode>
py::object decode_document(py::handle data, const char* function, const Decode& decode) {
  PyObject* source = data.ptr();
  if (PyBytes_Check(source)) {
    return py::reinterpret_steal<py::object>(
        decode(std::string_view{PyBytes_AS_STRING(source), static_cast<size_t>(PyBytes_GET_SIZE(source))}));
  }
  if (PyUnicode_Check(source)) {
    Py_ssize_t length = 0;
    const char* text = PyUnicode_AsUTF8AndSize(source, &length);
    if (text == nullptr) {
      // Lone surrogates have no UTF-8 form; the codec reads UTF-8 only.
      throw lamina::json::DecodeError(lamina::json::take_python_error_message());
    }
    return py::reinterpret_steal<py::object>(decode(std::string_view{text, static_cast<size_t>(length)}));
  }
  if (PyObject_CheckBuffer(source)) {
    BufferView view(source);
    return py::reinterpret_steal<py::object>(decode(view.bytes()));
  }
  throw py::type_error(std::string(function) + "() argument must be bytes, bytearray, memoryview or str, not " +
                       std::string(Py_TYPE(source)->tp_name));
}

py::object decode_json(py::handle data) {
  return decode_document(data, "decode_json", [](std::string_view document) { return lamina::json::decode(document); });
}

lamina::json::ElementType element_type_named(const std::string& name) {
  lamina::json::ElementType type;
  if (!lamina::json::element_type_from_name(name, type)) {
    throw py::value_error("element type must be float64, float32, int64, int32 or bool, not " + name);
  }
  return type;
}

lamina::json::PythonRef owned(py::handle object) {
  return lamina::json::PythonRef::borrow(object.ptr());
}

// ("array", path, type name, dtype, ndim) or ("records", path, [(name, key, type name, dtype)]),
// as lamina.arrays builds them.
lamina::json::ArrayDeclaration declaration_from(py::handle item) {
  py::tuple fields = py::reinterpret_borrow<py::tuple>(item);
  lamina::json::ArrayDeclaration declaration;
  const std::string kind = fields[0].cast<std::string>();
  declaration.path = fields[1].cast<std::vector<std::string>>();
  if (kind == "array") {
    declaration.type = element_type_named(fields[2].cast<std::string>());
    declaration.dtype = owned(fields[3]);
    declaration.ndimensions = fields[4].cast<int>();
  } else if (kind == "records") {
    declaration.is_records = true;
    for (py::handle column : fields[2].cast<py::list>()) {
      py::tuple parts = py::reinterpret_borrow<py::tuple>(column);
      declaration.columns.push_back(lamina::json::ColumnDeclaration{
          parts[0].cast<std::string>(), parts[1].cast<std::string>(), element_type_named(parts[2].cast<std::string>()),
          owned(parts[3])});
    }
  } else {
    throw py::value_error("a declaration is an 'array' or 'records', not " + kind);
  }
  return declaration;
}


py::handle checked_function(PyObject* function) {
  if (function == nullptr) {
    throw py::error_already_set();
  }
  return function;
}

// The codec's exception types, set by bind_json; module-lifetime references.
PyObject* decode_error_type = nullptr;
PyObject* encode_error_type = nullptr;

// decode_json and encode_json are plain METH_O functions rather than pybind11 ones:
// pybind11's argument dispatch costs about as much as decoding a small event.
// Returns nullptr with a Python error set on failure, as METH_O requires.
template <class Call>
PyObject* call_codec(Call&& call) noexcept {
  try {
    return call();
  } catch (const lamina::json::DecodeError& error) {
    PyErr_SetString(decode_error_type, error.what());
  } catch (const lamina::json::EncodeError& error) {
    PyErr_SetString(encode_error_type, error.what());
  } catch (py::error_already_set& error) {
    error.restore();
  } catch (const py::builtin_exception& error) {
    error.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& error) {
    PyErr_SetString(PyExc_RuntimeError, error.what());
  }
  return nullptr;
}

PyObject* decode_json_function(PyObject*, PyObject* data) {
  return call_codec([data] { return decode_json(data).release().ptr(); });
}

PyObject* encode_json_function(PyObject*, PyObject* value) {
  return call_codec([value] { return lamina::json::encode_to_bytes(value); });
}

PyMethodDef codec_functions[] = {
    {"decode_json", decode_json_function, METH_O,
     "decode_json(data, /)\n--\n\n"
     "Decodes one JSON document (bytes, bytearray, C-contiguous memoryview, or str) as "
     "json.loads would, rejecting NaN/Infinity like awslambdaric's simplejson. Raises "
     "JSONDecodeError with simplejson's message."},
    {"encode_json", encode_json_function, METH_O,
     "encode_json(value, /)\n--\n\n"
     "Encodes a handler result as compact JSON bytes, as awslambdaric's marshaller would "
     "(Decimal, namedtuple, NaN, ...). Raises JSONEncodeError with simplejson's message. "
     "A bytes result is encoded as a UTF-8 string like nested bytes; the runtime sends a "
     "bytes result verbatim instead of calling this."},
};

void bind_json(py::module_& m) {
  decode_error_type =
      py::register_exception<lamina::json::DecodeError>(m, "JSONDecodeError", PyExc_ValueError).ptr();
  encode_error_type =
      py::register_exception<lamina::json::EncodeError>(m, "JSONEncodeError", PyExc_ValueError).ptr();
  for (PyMethodDef& function : codec_functions) {
    m.add_object(function.ml_name,
                 py::reinterpret_steal<py::object>(checked_function(PyCFunction_NewEx(&function, m.ptr(), m.attr("__name__").ptr()))));
  }

  // Stage 1 with a named kernel: tests run the SIMD kernel and the scalar reference on the
  // same bytes and compare.
  py::module_ kernels = m.def_submodule(
      "_json_kernels", "The codec's stage-1 kernels, callable by name (\"scalar\" and the SIMD one).");
  kernels.attr("active") = lamina::json::ActiveKernel::name;
  py::list available;
  available.append(lamina::json::scalar::Kernel::name);
  if (std::string_view(lamina::json::ActiveKernel::name) != lamina::json::scalar::Kernel::name) {
    available.append(lamina::json::ActiveKernel::name);
  }
  kernels.attr("available") = py::tuple(available);
#if defined(LAMINA_PORTABLE)
  kernels.attr("portable_build") = true;
#else
  kernels.attr("portable_build") = false;
#endif
  const auto unknown_kernel = [](const std::string& kernel) {
    return py::value_error("no kernel named " + kernel + " in this build");
  };
  kernels.def(
      "index_structure",
      [unknown_kernel](const py::bytes& data, const std::string& kernel) {
        const std::string_view bytes(data);
        lamina::json::StructuralIndex index;
        if (!lamina::json::visit_kernel(kernel, [&](auto chosen) {
              decltype(chosen)::index_structure(bytes.data(), bytes.size(), index);
            })) {
          throw unknown_kernel(kernel);
        }
        const uint32_t* positions = index.positions();
        return std::vector<uint32_t>(positions, positions + index.token_count() + 1);
      },
      py::arg("data"), py::arg("kernel"),
      "Token offsets of `data` followed by the sentinel (its length), as the kernel indexes them.");
  kernels.def(
      "validate_utf8",
      [unknown_kernel](const py::bytes& data, const std::string& kernel) {
        const std::string_view bytes(data);
        bool valid = false;
        if (!lamina::json::visit_kernel(kernel, [&](auto chosen) {
              valid = decltype(chosen)::validate_utf8(bytes.data(), bytes.size());
            })) {
          throw unknown_kernel(kernel);
        }
        return valid;
      },
      py::arg("data"), py::arg("kernel"));
  kernels.def(
      "find_string_special",
      [unknown_kernel](const py::bytes& data, size_t start, const std::string& kernel) {
        const std::string_view bytes(data);
        if (start > bytes.size()) {
          throw py::value_error("start is past the end of data");
        }
        size_t found = 0;
        bool saw_non_ascii = false;
        if (!lamina::json::visit_kernel(kernel, [&](auto chosen) {
              const char* special = decltype(chosen)::find_string_special(
                  bytes.data() + start, bytes.data() + bytes.size(), saw_non_ascii);
              found = static_cast<size_t>(special - bytes.data());
            })) {
          throw unknown_kernel(kernel);
        }
        return py::make_tuple(found, saw_non_ascii);
      },
      py::arg("data"), py::arg("start"), py::arg("kernel"),
      "(offset of the first '\"', '\\\\' or control byte from `start` on, or len(data); "
      "whether a byte passed over was non-ASCII).");

  using lamina::json::NumericArrayPlan;
  py::class_<NumericArrayPlan>(m, "NumericArrayPlan",
                               "The numeric arrays a vectorized handler declared (built by lamina.arrays)")
      .def(py::init([](py::list declarations, py::object make_array, py::object make_columns) {
             std::vector<lamina::json::ArrayDeclaration> checked;
             for (py::handle item : declarations) checked.push_back(declaration_from(item));
             try {
               return std::make_unique<NumericArrayPlan>(std::move(checked), owned(make_array), owned(make_columns));
             } catch (const std::invalid_argument& error) {
               throw py::value_error(error.what());
             }
           }),
           py::arg("declarations"), py::arg("make_array"), py::arg("make_columns"));
  m.def(
      "decode_json_with_arrays",
      [](py::handle data, const NumericArrayPlan& plan) {
        return decode_document(data, "decode_json_with_arrays", [&](std::string_view document) {
          return lamina::json::decode_with_numeric_arrays(document, plan);
        });
      },
      py::arg("data"), py::arg("plan"),
      "decode_json, with each array the plan declares read straight into a numpy array. Raises "
      "JSONDecodeError naming the path, index and field when the event does not hold what was "
      "declared.");
}

// --- http: the sans-IO parser and writer, for tests on raw bytes --------------------------

std::string_view view_of(const py::buffer_info& buffer) {
  return {static_cast<const char*>(buffer.ptr), static_cast<std::size_t>(buffer.size * buffer.itemsize)};
}

py::list headers_to_list(const lamina::http::Headers& headers) {
  py::list fields;
  for (lamina::http::HeaderField field : headers) {
    fields.append(py::make_tuple(py::bytes(field.name.data(), field.name.size()),
                                 py::bytes(field.value.data(), field.value.size())));
  }
  return fields;
}

lamina::http::Headers headers_from_list(const std::vector<std::pair<std::string, std::string>>& fields) {
  lamina::http::Headers headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

py::dict head_to_dict(const lamina::http::MessageHead& head) {
  py::dict result;
  result["method"] = py::bytes(head.method);
  result["target"] = py::bytes(head.target);
  result["status"] = head.status;
  result["reason"] = py::bytes(head.reason);
  result["http_version"] = "1." + std::to_string(head.minor_version);
  result["headers"] = headers_to_list(head.headers);
  return result;
}

lamina::http::BodyFraming framing_from(std::optional<std::size_t> content_length, bool chunked) {
  if (chunked && content_length) throw py::value_error("give content_length or chunked, not both");
  if (chunked) return lamina::http::BodyFraming::chunked();
  if (content_length) return lamina::http::BodyFraming::content_length(*content_length);
  return lamina::http::BodyFraming::none();
}

void bind_http(py::module_& m) {
  using namespace lamina::http;
  py::module_ http = m.def_submodule("http", "The sans-IO HTTP/1.1 parser and writer, driven on raw bytes");
  auto protocol_error = py::register_exception<ProtocolError>(http, "ProtocolError", PyExc_ValueError);
  py::register_exception<RemoteProtocolError>(http, "RemoteProtocolError", protocol_error.ptr());
  py::register_exception<LocalProtocolError>(http, "LocalProtocolError", protocol_error.ptr());

  py::class_<MessageParser>(http, "MessageParser",
                            "Incremental parser: receive() bytes, next_event() -> 'need_data' | 'head' | "
                            "'message' | 'connection_closed'")
      .def(py::init([](const std::string& kind, std::size_t max_head_bytes, std::size_t max_body_bytes) {
             if (kind != "request" && kind != "response") throw py::value_error("kind is 'request' or 'response'");
             return MessageParser(kind == "request" ? MessageKind::request : MessageKind::response,
                                  ParserLimits{max_head_bytes, max_body_bytes});
           }),
           py::arg("kind") = "response", py::arg("max_head_bytes") = ParserLimits{}.max_head_bytes,
           py::arg("max_body_bytes") = ParserLimits{}.max_body_bytes)
      .def("receive", [](MessageParser& parser, py::buffer data) { parser.receive(view_of(data.request())); })
      .def(
          "receive_in_place",
          [](MessageParser& parser, py::buffer data) {
            // The socket shell's path: copy into receive_space() and commit, as recv() would.
            std::string_view bytes = view_of(data.request());
            while (!bytes.empty()) {
              ReceiveSpace space = parser.receive_space();
              std::size_t count = std::min(space.size, bytes.size());
              std::memcpy(space.data, bytes.data(), count);
              parser.commit_received(count);
              bytes.remove_prefix(count);
            }
          },
          "Feeds bytes through receive_space()/commit_received(), the zero-copy path the socket shell uses")
      .def("receive_eof", &MessageParser::receive_eof)
      .def("next_event",
           [](MessageParser& parser) -> std::string {
             switch (parser.next_event()) {
               case ParseEvent::need_data: return "need_data";
               case ParseEvent::head: return "head";
               case ParseEvent::message: return "message";
               case ParseEvent::connection_closed: return "connection_closed";
             }
             return "";
           })
      .def_property_readonly("head", [](const MessageParser& parser) { return head_to_dict(parser.head()); })
      .def("take_message",
           [](MessageParser& parser) {
             Message message = parser.take_message();
             py::dict result = head_to_dict(message.head);
             result["body"] = py::bytes(message.body);
             result["trailers"] = headers_to_list(message.trailers);
             result["keep_alive"] = message.keep_alive;
             return result;
           })
      .def_property_readonly("started_message", &MessageParser::started_message)
      .def_property_readonly("buffered_bytes", &MessageParser::buffered_bytes);

  http.def(
      "request_head",
      [](const std::string& method, const std::string& target,
         const std::vector<std::pair<std::string, std::string>>& headers, std::optional<std::size_t> content_length,
         bool chunked) {
        std::string out;
        append_request_head(out, method, target, headers_from_list(headers), framing_from(content_length, chunked));
        return py::bytes(out);
      },
      py::arg("method"), py::arg("target"), py::arg("headers") = std::vector<std::pair<std::string, std::string>>{},
      py::arg("content_length") = py::none(), py::arg("chunked") = false);
  http.def(
      "response_head",
      [](int status, const std::string& reason, const std::vector<std::pair<std::string, std::string>>& headers,
         std::optional<std::size_t> content_length, bool chunked) {
        std::string out;
        append_response_head(out, status, reason, headers_from_list(headers), framing_from(content_length, chunked));
        return py::bytes(out);
      },
      py::arg("status"), py::arg("reason"), py::arg("headers") = std::vector<std::pair<std::string, std::string>>{},
      py::arg("content_length") = py::none(), py::arg("chunked") = false);
  http.def(
      "chunked_body",
      [](const std::vector<py::bytes>& chunks, const std::vector<std::pair<std::string, std::string>>& trailers) {
        ChunkedBodyWriter writer;
        std::string out;
        for (const py::bytes& chunk : chunks) writer.append_chunk(out, std::string_view(chunk));
        out += writer.finish(headers_from_list(trailers));
        return py::bytes(out);
      },
      py::arg("chunks"), py::arg("trailers") = std::vector<std::pair<std::string, std::string>>{},
      "A whole chunked body: each non-empty chunk framed, then the last chunk and the trailers");
  http.def(
      "chunk_prefix", [](std::size_t size) { return py::bytes(std::string(ChunkedBodyWriter().chunk_prefix(size))); },
      py::arg("size"));
}

// --- the Runtime API client ----------------------------------------------------------------

using lamina::runtime::run_python_signal_handlers;

// Runs one post on the bytes of `body` and returns (status, body) of Lambda's answer.
template <typename Post>
py::tuple post_without_gil(const py::buffer& body, const Post& post) {
  py::buffer_info bytes = body.request();  // holds the buffer still while the GIL is released
  lamina::runtime::PostAnswer answer;
  {
    // Waits for Lambda's answer over the network: other threads must run meanwhile.
    py::gil_scoped_release release;
    answer = post(view_of(bytes));
  }
  return py::make_tuple(answer.status, py::bytes(answer.body));
}

lamina::runtime::Invocation invocation_for(const std::string& request_id) {
  lamina::runtime::Invocation invocation;
  invocation.request_id = request_id;
  return invocation;
}

void bind_runtime_api_client(py::module_& m) {
  using lamina::runtime::Invocation;
  using lamina::runtime::RuntimeApiClient;
  py::register_exception<lamina::runtime::RuntimeApiError>(m, "RuntimeApiError", PyExc_RuntimeError);

  py::class_<Invocation>(m, "Invocation", "One invocation as `next` delivered it")
      .def_readonly("request_id", &Invocation::request_id)
      .def_readonly("deadline_ms", &Invocation::deadline_ms)
      .def_readonly("invoked_function_arn", &Invocation::invoked_function_arn)
      .def_readonly("trace_id", &Invocation::trace_id)
      .def_readonly("client_context", &Invocation::client_context)
      .def_readonly("cognito_identity", &Invocation::cognito_identity)
      .def_readonly("tenant_id", &Invocation::tenant_id)
      .def_readonly("invocation_id", &Invocation::invocation_id)
      .def_readonly("content_type", &Invocation::content_type)
      .def_property_readonly(
          "body", [](const Invocation& invocation) { return py::bytes(invocation.body); },
          "The event (a new bytes object on each access)")
      .def("__repr__", [](const Invocation& invocation) {
        return "<Invocation " + invocation.request_id + ", " + std::to_string(invocation.body.size()) + " bytes>";
      });

  py::class_<RuntimeApiClient>(m, "RuntimeApiClient",
                               "The Runtime API client on one keep-alive connection to AWS_LAMBDA_RUNTIME_API. "
                               "Posts return (status, body); broken connections and bad answers raise "
                               "RuntimeApiError.")
      .def(py::init<std::string>(), py::arg("address"))
      .def(
          "next",
          [](RuntimeApiClient& client) {
            // Blocks until Lambda has an event, for minutes or forever: other threads must run.
            py::gil_scoped_release release;
            return client.next(run_python_signal_handlers);
          },
          "GET /runtime/invocation/next; waits without a timeout. Python signal handlers run "
          "while it waits; one that raises abandons the wait.")
      .def(
          "post_response",
          [](RuntimeApiClient& client, const Invocation& invocation, py::buffer body, const std::string& content_type) {
            return post_without_gil(body, [&](std::string_view bytes) {
              return client.post_response(invocation, bytes, content_type);
            });
          },
          py::arg("invocation"), py::arg("body"), py::arg("content_type") = "application/json")
      .def(
          "post_response",
          [](RuntimeApiClient& client, const std::string& request_id, py::buffer body, const std::string& content_type) {
            return post_without_gil(body, [&](std::string_view bytes) {
              return client.post_response(invocation_for(request_id), bytes, content_type);
            });
          },
          py::arg("request_id"), py::arg("body"), py::arg("content_type") = "application/json")
      .def(
          "post_error",
          [](RuntimeApiClient& client, const Invocation& invocation, py::buffer error_json,
             const std::string& error_type, const std::string& xray_cause) {
            return post_without_gil(error_json, [&](std::string_view bytes) {
              return client.post_error(invocation, bytes, error_type, xray_cause);
            });
          },
          py::arg("invocation"), py::arg("error_json"), py::arg("error_type"), py::arg("xray_cause") = "")
      .def(
          "post_error",
          [](RuntimeApiClient& client, const std::string& request_id, py::buffer error_json,
             const std::string& error_type, const std::string& xray_cause) {
            return post_without_gil(error_json, [&](std::string_view bytes) {
              return client.post_error(invocation_for(request_id), bytes, error_type, xray_cause);
            });
          },
          py::arg("request_id"), py::arg("error_json"), py::arg("error_type"), py::arg("xray_cause") = "")
      .def(
          "post_init_error",
          [](RuntimeApiClient& client, py::buffer error_json, const std::string& error_type) {
            return post_without_gil(error_json, [&](std::string_view bytes) {
              return client.post_init_error(bytes, error_type);
            });
          },
          py::arg("error_json"), py::arg("error_type"))
      .def(
          "restore_next",
          [](RuntimeApiClient& client) {
            // Blocks until the snapshot is restored, which may be much later: other threads must run.
            py::gil_scoped_release release;
            client.restore_next(run_python_signal_handlers);
          },
          "SnapStart: GET /runtime/restore/next; raises RuntimeApiError unless 200")
      .def(
          "post_restore_error",
          [](RuntimeApiClient& client, py::buffer error_json, const std::string& error_type) {
            return post_without_gil(error_json, [&](std::string_view bytes) {
              return client.post_restore_error(bytes, error_type);
            });
          },
          py::arg("error_json"), py::arg("error_type"));
}

// A streamed response's data: bytes-like objects as they are, str as UTF-8.
void write_to_stream(lamina::runtime::ResponseStream& stream, py::handle data) {
  if (PyUnicode_Check(data.ptr())) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(data.ptr(), &size);
    if (text == nullptr) throw py::error_already_set();
    py::gil_scoped_release release;  // the chunk goes out over the network; `data` outlives the call
    stream.write({text, static_cast<std::size_t>(size)});
    return;
  }
  py::buffer_info bytes = py::reinterpret_borrow<py::buffer>(data).request();
  py::gil_scoped_release release;  // the chunk goes out over the network; `bytes` holds the buffer
  stream.write(view_of(bytes));
}

void bind_response_stream(py::module_& m) {
  using lamina::runtime::ResponseStream;
  py::class_<ResponseStream, std::shared_ptr<ResponseStream>>(
      m, "ResponseStream", "A response sent to Lambda chunk by chunk (lamina.streaming wraps it)")
      .def("write", &write_to_stream, py::arg("data"), "Sends one chunk now.")
      .def("set_content_type", &ResponseStream::set_content_type, py::arg("content_type"))
      .def(
          "finish",
          [](ResponseStream& stream) {
            lamina::runtime::PostAnswer answer;
            {
              py::gil_scoped_release release;  // ending the body waits for Lambda's answer
              answer = stream.finish();
            }
            return py::make_tuple(answer.status, py::bytes(answer.body));
          },
          "Ends the body; returns Lambda's answer (status, body).")
      .def_property_readonly("started", &ResponseStream::started)
      .def_property_readonly("finished", &ResponseStream::finished)
      .def_property_readonly("bytes_written", &ResponseStream::bytes_written);
}

// --- the invocation loop -------------------------------------------------------------------

void bind_invocation_loop(py::module_& m) {
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
  m.def("keep_freed_memory_for_next_invocation", &lamina::runtime::keep_freed_memory_for_next_invocation,
        "Tunes the allocators of a runtime process for large events (see cpp/runtime/allocator.h).");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "lamina's native core: Runtime API client, payload codec, invocation loop";
  bind_json(m);
  bind_http(m);
  bind_runtime_api_client(m);
  bind_response_stream(m);
  bind_invocation_loop(m);
}
