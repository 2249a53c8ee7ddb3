// The invocation loop: next -> context -> decode -> handler -> encode -> response/error,
// with the GIL released whenever the loop waits on Lambda. ../shared/spec/runtime.md.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>

#include "json/numeric_arrays.h"
#include "runtime/runtime_api_client.h"
#include "runtime/trace_id_variable.h"

namespace lamina::runtime {

// Runs Python's signal handlers when a signal interrupted a wait on Lambda (recv() returned
// EINTR while the GIL was released): a SIGTERM handler must run while the runtime is idle.
// Throws pybind11::error_already_set when a handler raised, which abandons the wait.
void run_python_signal_handlers();

// The Python side of an invocation, read once from lamina.runtime.bootstrap.InvocationHooks.
struct PythonHooks {
  pybind11::object handler;            // the user's handler(event, context)
  pybind11::object make_context;       // Context(request_id, deadline_ms, arn, client_context, identity, tenant_id, *function_info)
  pybind11::tuple function_info;       // the Context arguments that are the same for every invocation
  pybind11::object begin_invocation;   // (request_id, tenant_id): the request id of log lines
  pybind11::dict environ_data;         // os.environ's dict, kept in step with the C environment
  pybind11::object end_invocation;     // (): flushes stdout
  pybind11::object report_error;       // (exception, request_id) -> (body: bytes, error_type: str, xray_cause: str)
  pybind11::object run_awaitable;      // (awaitable) -> result, on the runtime's one event loop
  pybind11::object fault_error;        // FaultError(error_type, message): Runtime.* failures
  pybind11::object warn;               // (message): a warning line in the function log
  bool streams_response;               // handler(event, response_stream, context) (lamina.stream_response)
  pybind11::object make_response_stream;  // (native ResponseStream) -> lamina.streaming.ResponseStream
  pybind11::object drain_into_stream;     // (generator or async generator, response_stream): writes every item
  pybind11::object numeric_arrays;     // a vectorized handler's json::NumericArrayPlan, or None

  static PythonHooks from_object(pybind11::handle hooks);
};

class InvocationLoop {
 public:
  // `keep_serving_on_failures`: Lambda Managed Instances mode, where a worker logs failed
  // posts and retries `next` instead of exiting (awslambdaric's multi-concurrent client).
  InvocationLoop(RuntimeApiClient& client, PythonHooks hooks, bool keep_serving_on_failures);

  // Serves invocations until a BaseException leaves the handler (its error is posted first,
  // then it propagates as pybind11::error_already_set) or the Runtime API fails
  // (RuntimeApiError). Returns after `max_invocations` when that is positive.
  void run(long long max_invocations = 0);

 private:
  Invocation wait_for_next();
  void serve(const Invocation& invocation);
  void post_response(const Invocation& invocation, std::string_view body, std::string_view content_type);
  void end_stream(const Invocation& invocation, const pybind11::str& request_id, ResponseStream& stream,
                  const std::optional<pybind11::error_already_set>& failure);
  pybind11::object wrap_stream(const std::shared_ptr<ResponseStream>& stream);
  void describe_error(const Invocation& invocation, const pybind11::str& request_id, pybind11::handle exception,
                      std::string& body, std::string& error_type, std::string& xray_cause);
  void update_trace_id(const Invocation& invocation);
  pybind11::object build_context(const Invocation& invocation, const pybind11::str& request_id);
  pybind11::object decode_event(const Invocation& invocation);
  pybind11::object decode_header_json(const std::string& text, const char* name);
  void encode_result(pybind11::handle result, std::string_view& content_type);
  void post_error(const Invocation& invocation, const pybind11::str& request_id, pybind11::handle exception);
  void check_answer(const PostAnswer& answer, const Invocation& invocation, const char* kind);
  // Raises FaultError(error_type, message) as the Python error of the invocation.
  [[noreturn]] void throw_fault(const char* error_type, const std::string& message);

  RuntimeApiClient& client_;
  PythonHooks hooks_;
  bool keep_serving_on_failures_;
  const json::NumericArrayPlan* numeric_arrays_;  // owned by hooks_; nullptr for other handlers
  std::string response_;  // reused for every response body
  TraceIdVariable trace_id_variable_;
  pybind11::bytes trace_id_key_{"_X_AMZN_TRACE_ID"};
};

}  // namespace lamina::runtime
