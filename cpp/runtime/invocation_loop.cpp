#include "runtime/invocation_loop.h"

#include <chrono>
#include <optional>
#include <thread>

#include "json/codec.h"

namespace py = pybind11;

namespace lamina::runtime {
namespace {

constexpr std::string_view kJsonContentType = "application/json";
// awslambdaric sends a handler's bytes result verbatim under this type.
constexpr std::string_view kBytesContentType = "application/unknown";
// Managed Instances mode: how often a worker retries `next` before giving up.
constexpr int kNextAttempts = 5;
constexpr std::chrono::milliseconds kFirstRetryDelay{100};

// Header values are bytes off the wire: decoding must not fail on garbage.
py::str to_str(const std::string& value) {
  PyObject* text = PyUnicode_DecodeUTF8(value.data(), static_cast<Py_ssize_t>(value.size()), "surrogateescape");
  if (text == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(text);
}

py::object to_optional_str(const std::optional<std::string>& value) {
  if (!value) return py::none();
  return to_str(*value);
}

bool is_json_media_type(std::string_view content_type) {
  std::string_view media_type = content_type.substr(0, content_type.find(';'));
  while (!media_type.empty() && media_type.back() == ' ') media_type.remove_suffix(1);
  if (media_type.size() != kJsonContentType.size()) return false;
  for (size_t i = 0; i < media_type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media_type[i])) != kJsonContentType[i]) return false;
  }
  return true;
}

bool is_awaitable(PyObject* value) {
  if (PyCoro_CheckExact(value)) return true;
  PyAsyncMethods* async_methods = Py_TYPE(value)->tp_as_async;
  return async_methods != nullptr && async_methods->am_await != nullptr;
}

py::object call(const py::object& function, std::initializer_list<PyObject*> arguments) {
  PyObject* result = PyObject_Vectorcall(function.ptr(), arguments.begin(), arguments.size(), nullptr);
  if (result == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(result);
}

// The exception object of a failed call, with its traceback attached for the error report.
py::object exception_of(const py::error_already_set& error) {
  py::object exception = py::reinterpret_borrow<py::object>(error.value());
  if (error.trace()) PyException_SetTraceback(exception.ptr(), error.trace().ptr());
  return exception;
}

}  // namespace

void run_python_signal_handlers() {
  py::gil_scoped_acquire acquire;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

PythonHooks PythonHooks::from_object(py::handle hooks) {
  return PythonHooks{
      hooks.attr("handler"),
      hooks.attr("make_context"),
      py::tuple(hooks.attr("function_info")),
      hooks.attr("begin_invocation"),
      hooks.attr("environ_data"),
      hooks.attr("end_invocation"),
      hooks.attr("report_error"),
      hooks.attr("run_awaitable"),
      hooks.attr("fault_error"),
      hooks.attr("warn"),
      hooks.attr("streams_response").cast<bool>(),
      hooks.attr("make_response_stream"),
      hooks.attr("drain_into_stream"),
      hooks.attr("numeric_arrays"),
  };
}

InvocationLoop::InvocationLoop(RuntimeApiClient& client, PythonHooks hooks, bool keep_serving_on_failures)
    : client_(client),
      hooks_(std::move(hooks)),
      keep_serving_on_failures_(keep_serving_on_failures),
      numeric_arrays_(hooks_.numeric_arrays.is_none() ? nullptr
                                                      : hooks_.numeric_arrays.cast<const json::NumericArrayPlan*>()) {}

void InvocationLoop::run(long long max_invocations) {
  for (long long served = 0; max_invocations <= 0 || served < max_invocations; ++served) {
    Invocation invocation = wait_for_next();
    serve(invocation);
  }
}

Invocation InvocationLoop::wait_for_next() {
  auto delay = kFirstRetryDelay;
  for (int attempt = 1;; ++attempt) {
    try {
      py::gil_scoped_release release;  // `next` blocks until Lambda has work, for minutes if frozen
      return client_.next(run_python_signal_handlers);
    } catch (const RuntimeApiError& error) {
      if (!keep_serving_on_failures_ || attempt >= kNextAttempts) throw;
      hooks_.warn(std::string("Getting the next invocation failed, retrying: ") + error.what());
      py::gil_scoped_release release;  // sleeping between retries
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
  }
}

void InvocationLoop::serve(const Invocation& invocation) {
  py::str request_id = to_str(invocation.request_id);
  update_trace_id(invocation);
  call(hooks_.begin_invocation, {request_id.ptr(), to_optional_str(invocation.tenant_id).ptr()});

  std::optional<py::error_already_set> failure;
  std::shared_ptr<ResponseStream> stream;  // set when the response is streamed
  py::object result;
  std::string_view body;
  std::string_view content_type = kJsonContentType;
  try {
    py::object context = build_context(invocation, request_id);
    py::object event = decode_event(invocation);
    if (hooks_.streams_response) {
      // handler(event, response_stream, context), as Node's streamifyResponse.
      stream = client_.start_streaming_response(invocation);
      py::object writer = call(hooks_.make_response_stream, {wrap_stream(stream).ptr()});
      result = call(hooks_.handler, {event.ptr(), writer.ptr(), context.ptr()});
      if (is_awaitable(result.ptr())) result = call(hooks_.run_awaitable, {result.ptr()});
    } else {
      result = call(hooks_.handler, {event.ptr(), context.ptr()});
      if (is_awaitable(result.ptr())) result = call(hooks_.run_awaitable, {result.ptr()});
      if (PyGen_Check(result.ptr()) || PyAsyncGen_CheckExact(result.ptr())) {
        // A generator streams what it yields, each item sent as it is produced.
        stream = client_.start_streaming_response(invocation);
        py::object writer = call(hooks_.make_response_stream, {wrap_stream(stream).ptr()});
        call(hooks_.drain_into_stream, {result.ptr(), writer.ptr()});
      } else if (PyBytes_Check(result.ptr())) {
        // Sent as is; `result` keeps the bytes alive until the post is done.
        body = std::string_view(PyBytes_AS_STRING(result.ptr()), PyBytes_GET_SIZE(result.ptr()));
        content_type = kBytesContentType;
      } else {
        encode_result(result, content_type);
        body = response_;
      }
    }
  } catch (py::error_already_set& error) {
    failure = std::move(error);
  }
  call(hooks_.end_invocation, {});

  if (stream && !(failure && !stream->started())) {
    end_stream(invocation, request_id, *stream, failure);
  } else if (failure) {
    // An error before the first byte of a stream is an ordinary invocation error.
    post_error(invocation, request_id, exception_of(*failure));
  } else {
    post_response(invocation, body, content_type);
  }
  // SystemExit, KeyboardInterrupt: reported above, now they end the process.
  if (failure && !failure->matches(PyExc_Exception)) throw *failure;
}

void InvocationLoop::post_response(const Invocation& invocation, std::string_view body, std::string_view content_type) {
  PostAnswer answer;
  try {
    py::gil_scoped_release release;  // the post waits on the network
    answer = client_.post_response(invocation, body, content_type);
  } catch (const RuntimeApiError& error) {
    if (!keep_serving_on_failures_) throw;
    hooks_.warn(std::string("Posting the response failed: ") + error.what());
    return;
  }
  check_answer(answer, invocation, "response");
}

void InvocationLoop::end_stream(const Invocation& invocation, const py::str& request_id, ResponseStream& stream,
                                const std::optional<py::error_already_set>& failure) {
  std::string body, error_type, xray_cause;
  if (failure) describe_error(invocation, request_id, exception_of(*failure), body, error_type, xray_cause);
  if (stream.finished()) {
    // The handler ended the stream itself (or Lambda stopped reading it): nothing more to send.
    if (stream.answer()) check_answer(*stream.answer(), invocation, "streamed response");
    return;
  }
  PostAnswer answer;
  try {
    py::gil_scoped_release release;  // ending the body waits on the network
    answer = failure ? stream.fail(error_type, body) : stream.finish();
  } catch (const RuntimeApiError& error) {
    // The stream's connection broke; the next `next` reconnects.
    hooks_.warn(std::string("Ending the streamed response failed: ") + error.what());
    return;
  }
  check_answer(answer, invocation, "streamed response");
}

py::object InvocationLoop::wrap_stream(const std::shared_ptr<ResponseStream>& stream) {
  return py::cast(stream);
}

void InvocationLoop::update_trace_id(const Invocation& invocation) {
  PyObject* environ_data = hooks_.environ_data.ptr();
  if (invocation.trace_id) {
    trace_id_variable_.set(*invocation.trace_id);
    py::bytes value(*invocation.trace_id);
    if (PyDict_SetItem(environ_data, trace_id_key_.ptr(), value.ptr()) != 0) throw py::error_already_set();
    return;
  }
  trace_id_variable_.remove();
  if (PyDict_Contains(environ_data, trace_id_key_.ptr()) == 1 && PyDict_DelItem(environ_data, trace_id_key_.ptr()) != 0) {
    throw py::error_already_set();
  }
}

py::object InvocationLoop::build_context(const Invocation& invocation, const py::str& request_id) {
  // awslambdaric treats an empty header as an absent one.
  py::object client_context = invocation.client_context && !invocation.client_context->empty()
                                  ? decode_header_json(*invocation.client_context, "Client Context")
                                  : py::none();
  py::object identity = invocation.cognito_identity && !invocation.cognito_identity->empty()
                            ? decode_header_json(*invocation.cognito_identity, "Cognito Identity")
                            : py::none();
  py::int_ deadline_ms(invocation.deadline_ms.value_or(0));
  py::object arn = to_optional_str(invocation.invoked_function_arn);
  py::object tenant_id = to_optional_str(invocation.tenant_id);

  constexpr size_t kInvocationArguments = 6;
  constexpr size_t kMaxArguments = 16;
  const size_t function_arguments = std::min(hooks_.function_info.size(), kMaxArguments - kInvocationArguments);
  PyObject* arguments[kMaxArguments] = {request_id.ptr(), deadline_ms.ptr(), arn.ptr(),
                                        client_context.ptr(), identity.ptr(), tenant_id.ptr()};
  for (size_t i = 0; i < function_arguments; ++i) {
    arguments[kInvocationArguments + i] = PyTuple_GET_ITEM(hooks_.function_info.ptr(), i);
  }
  PyObject* context =
      PyObject_Vectorcall(hooks_.make_context.ptr(), arguments, kInvocationArguments + function_arguments, nullptr);
  if (context == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(context);
}

py::object InvocationLoop::decode_event(const Invocation& invocation) {
  if (invocation.content_type && !is_json_media_type(*invocation.content_type)) {
    return py::bytes(invocation.body);  // awslambdaric hands over non-JSON events undecoded
  }
  try {
    if (numeric_arrays_ != nullptr) {
      // A vectorized handler: its declared arrays are read into numpy arrays, no list built.
      return py::reinterpret_steal<py::object>(json::decode_with_numeric_arrays(invocation.body, *numeric_arrays_));
    }
    return py::reinterpret_steal<py::object>(json::decode(invocation.body));
  } catch (const json::DecodeError& error) {
    throw_fault("Runtime.UnmarshalError", std::string("Unable to unmarshal input: ") + error.what());
  }
}

py::object InvocationLoop::decode_header_json(const std::string& text, const char* name) {
  try {
    return py::reinterpret_steal<py::object>(json::decode(text));
  } catch (const json::DecodeError& error) {
    throw_fault("Runtime.LambdaContextUnmarshalError",
                std::string("Unable to parse ") + name + " JSON: " + error.what());
  }
}

void InvocationLoop::encode_result(py::handle result, std::string_view& content_type) {
  response_.clear();
  try {
    json::encode(result.ptr(), response_);
    content_type = kJsonContentType;
  } catch (const json::EncodeError& error) {
    throw_fault("Runtime.MarshalError", std::string("Unable to marshal response: ") + error.what());
  }
}

void InvocationLoop::throw_fault(const char* error_type, const std::string& message) {
  py::object fault = hooks_.fault_error(error_type, message);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(fault.ptr())), fault.ptr());
  throw py::error_already_set();
}

void InvocationLoop::describe_error(const Invocation& invocation, const py::str& request_id, py::handle exception,
                                    std::string& body, std::string& error_type, std::string& xray_cause) {
  try {
    py::tuple report = call(hooks_.report_error, {exception.ptr(), request_id.ptr()});
    body = report[0].cast<std::string>();
    error_type = report[1].cast<std::string>();
    xray_cause = report[2].cast<std::string>();
  } catch (py::error_already_set& error) {
    // The error must still reach Lambda even if describing it failed.
    error.discard_as_unraisable("lamina: describing an invocation error");
    error_type = "Runtime.Unknown";
    body = R"({"errorMessage":"The runtime failed to describe the handler's error","errorType":"Runtime.Unknown","requestId":")" +
           invocation.request_id + R"(","stackTrace":[]})";
  }
}

void InvocationLoop::post_error(const Invocation& invocation, const py::str& request_id, py::handle exception) {
  std::string body, error_type, xray_cause;
  describe_error(invocation, request_id, exception, body, error_type, xray_cause);
  PostAnswer answer;
  try {
    py::gil_scoped_release release;  // the post waits on the network
    answer = client_.post_error(invocation, body, error_type, xray_cause);
  } catch (const RuntimeApiError& error) {
    if (!keep_serving_on_failures_) throw;
    hooks_.warn(std::string("Posting the error failed: ") + error.what());
    return;
  }
  check_answer(answer, invocation, "error");
}

void InvocationLoop::check_answer(const PostAnswer& answer, const Invocation& invocation, const char* kind) {
  if (answer.status >= 200 && answer.status < 300) return;
  std::string what = "Runtime API answered " + std::to_string(answer.status) + " to the " + kind +
                     " of invocation " + invocation.request_id + ": " + answer.body;
  if (answer.status == 500 && !keep_serving_on_failures_) throw RuntimeApiError(what);
  if (answer.status == 410) what += " (the invocation is no longer current, it timed out meanwhile)";
  if (answer.status == 413) what += " (the payload is larger than Lambda accepts)";
  hooks_.warn(what);
}

}  // namespace lamina::runtime
