// The Runtime API (2018-06-01) client: one keep-alive HTTP/1.1 connection to
// AWS_LAMBDA_RUNTIME_API. Contract: ../shared/spec/runtime.md section 1.
// Plain C++ (no Python): the invocation loop decides what each answer means for the process.
// The connection has TCP_NODELAY on and is reopened transparently: when Lambda closed it
// before any byte of an answer arrived, the request is sent once more on a new one. Every
// request carries `User-Agent: lamina/<version>`. Not thread-safe: one client per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lamina::runtime {

// The Runtime API could not be talked to: connection refused, closed mid-response, a
// response that is not HTTP/1.1, a status `next` must not get, a request id that cannot go
// into a path. The message names the request and what went wrong. Unrecoverable for the process.
class RuntimeApiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One invocation as `next` delivers it; every Lambda-Runtime-* header, read case-insensitively.
struct Invocation {
  std::string request_id;                       // Lambda-Runtime-Aws-Request-Id (required)
  std::optional<int64_t> deadline_ms;           // Lambda-Runtime-Deadline-Ms, epoch ms
  std::optional<std::string> invoked_function_arn;
  std::optional<std::string> trace_id;          // Lambda-Runtime-Trace-Id
  std::optional<std::string> client_context;    // JSON text
  std::optional<std::string> cognito_identity;  // JSON text
  std::optional<std::string> tenant_id;         // Lambda-Runtime-Aws-Tenant-Id
  std::optional<std::string> invocation_id;     // echoed on /response and /error
  std::optional<std::string> content_type;
  std::string body;                             // the event, Content-Length or chunked
};

// What the Runtime API answered to a /response or /error post.
struct PostAnswer {
  int status = 0;    // 202 accepted; 400, 403, 410, 413 are the invocation's problem; 500 is fatal
  std::string body;  // the answer's body, for the log line
};

class ResponseStream;

class RuntimeApiClient {
 public:
  // `address` is AWS_LAMBDA_RUNTIME_API: "host:port" (IPv4, IPv6 in brackets, or a name).
  explicit RuntimeApiClient(std::string address);
  ~RuntimeApiClient();
  RuntimeApiClient(const RuntimeApiClient&) = delete;
  RuntimeApiClient& operator=(const RuntimeApiClient&) = delete;

  // GET /runtime/invocation/next; blocks without a timeout. When a signal interrupts the
  // wait (EINTR), `on_interrupted` runs (may be empty) and the wait resumes; it may throw to
  // abandon it, and its exception propagates after the connection is closed (the next call
  // reconnects). Throws RuntimeApiError on a non-200 answer (500 included, with its status and
  // body in the message), an answer without a request id, or a broken connection.
  // The body arrives straight into Invocation::body, Content-Length or chunked.
  Invocation next(const std::function<void()>& on_interrupted);

  // POST /runtime/invocation/{id}/response with the given Content-Type (none when empty);
  // echoes the invocation's Lambda-Runtime-Invocation-Id. The body is sent from `body` itself
  // (gathered with the head, not copied). Every HTTP answer is returned (202, 410, 413, 500...);
  // only a broken connection or a malformed answer throws RuntimeApiError. Interrupted sends
  // and receives resume by themselves.
  PostAnswer post_response(const Invocation& invocation, std::string_view body,
                           std::string_view content_type);

  // POST /runtime/invocation/{id}/error with Content-Type: application/json,
  // Lambda-Runtime-Function-Error-Type and, when non-empty and under 1 MiB,
  // Lambda-Runtime-Function-XRay-Error-Cause; echoes Lambda-Runtime-Invocation-Id. An error type
  // or cause that cannot be a header value (a line break) is left out rather than failing the
  // report: the JSON body carries it. Answers as post_response.
  PostAnswer post_error(const Invocation& invocation, std::string_view error_json,
                        std::string_view error_type, std::string_view xray_cause);

  // POST /runtime/init/error with Lambda-Runtime-Function-Error-Type (as post_error).
  PostAnswer post_init_error(std::string_view error_json, std::string_view error_type);

  // SnapStart: GET /runtime/restore/next (throws RuntimeApiError unless 200) and
  // POST /runtime/restore/error.
  void restore_next(const std::function<void()>& on_interrupted);
  PostAnswer post_restore_error(std::string_view error_json, std::string_view error_type);

 // POST /runtime/invocation/{id}/response in streaming mode (runtime.md "Response
  // streaming"). Nothing is sent until the stream's first write or its end; the client must
  // not be used for anything else until the stream is finished or failed.
  std::shared_ptr<ResponseStream> start_streaming_response(const Invocation& invocation);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A response sent to Lambda as the handler produces it: a chunked POST with
// Lambda-Runtime-Function-Response-Mode: streaming. The head goes out with the first chunk,
// so the content type can change until then. An error after the first byte ends the body
// with the error trailers; before it, the invocation's error is posted to /error instead.
class ResponseStream {
 public:
  ResponseStream(RuntimeApiClient::Impl& client, const Invocation& invocation);

  // Throws std::logic_error once the head is sent.
  void set_content_type(std::string_view content_type);
  // Sends `data` as one chunk now (nothing for empty data). Throws RuntimeApiError when
  // Lambda stopped reading (the caller went away, or the stream exceeded the limit).
  void write(std::string_view data);
  // Ends the body and returns Lambda's answer.
  PostAnswer finish();
  // Ends the body with Lambda-Runtime-Function-Error-Type and -Body (base64 of error_json).
  PostAnswer fail(std::string_view error_type, std::string_view error_json);

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  // Lambda's answer, once the body has ended.
  const std::optional<PostAnswer>& answer() const { return answer_; }
  std::size_t bytes_written() const { return bytes_written_; }

 private:
  void check_open() const;
  void send_head_with(std::string_view a, std::string_view b = {}, std::string_view c = {});
  PostAnswer end_body(std::string_view last_chunk_and_trailers);

  RuntimeApiClient::Impl& client_;
  std::string request_id_;
  std::optional<std::string> invocation_id_;
  std::string content_type_ = "application/octet-stream";
  std::string head_;
  bool started_ = false;
  bool finished_ = false;
  std::size_t bytes_written_ = 0;
  std::optional<PostAnswer> answer_;
};

}  // namespace lamina::runtime
