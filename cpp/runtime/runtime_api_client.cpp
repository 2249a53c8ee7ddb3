#include "runtime/runtime_api_client.h"

#include <charconv>
#include <utility>

#include "http/errors.h"
#include "http/headers.h"
#include "http/message_writer.h"
#include "http/syntax.h"
#include "runtime/connection.h"

#ifndef LAMINA_VERSION
// Until CMake passes the package version (SKBUILD_PROJECT_VERSION) in; keep it in step with
// pyproject.toml.
#define LAMINA_VERSION "0.1.0"
#endif

namespace lamina::runtime {

namespace {

constexpr std::string_view kUserAgent = "lamina/" LAMINA_VERSION;
constexpr std::string_view kInvocationPath = "/2018-06-01/runtime/invocation/";
constexpr std::string_view kNextPath = "/2018-06-01/runtime/invocation/next";
constexpr std::string_view kInitErrorPath = "/2018-06-01/runtime/init/error";
constexpr std::string_view kRestoreNextPath = "/2018-06-01/runtime/restore/next";
constexpr std::string_view kRestoreErrorPath = "/2018-06-01/runtime/restore/error";
constexpr std::size_t kMaxXRayCauseBytes = 1024 * 1024;  // Lambda drops larger causes
constexpr std::size_t kMaxBodyQuoted = 1000;              // of an unexpected answer, in error messages

std::string describe_answer(const http::Message& answer) {
  std::string text = std::to_string(answer.head.status);
  if (!answer.head.reason.empty()) text += " " + answer.head.reason;
  if (!answer.body.empty()) text += ": " + http::syntax::quote_for_error(answer.body, kMaxBodyQuoted);
  return text;
}

// A request id goes into the path: anything that would change the path or break the request
// line is refused rather than sent.
void check_request_id(std::string_view request_id) {
  bool valid = !request_id.empty();
  for (char c : request_id) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '/' || c == '?' || c == '#' || c == '%') valid = false;
  }
  if (!valid) {
    throw RuntimeApiError("invalid request id " + http::syntax::quote_for_error(request_id) +
                          " (empty, or has characters that cannot go into a Runtime API path)");
  }
}

std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t triple = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[triple >> 18];
    out += kAlphabet[(triple >> 12) & 63];
    out += kAlphabet[(triple >> 6) & 63];
    out += kAlphabet[triple & 63];
  }
  if (i < data.size()) {
    uint32_t triple = uint8_t(data[i]) << 16;
    if (i + 1 < data.size()) triple |= uint8_t(data[i + 1]) << 8;
    out += kAlphabet[triple >> 18];
    out += kAlphabet[(triple >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(triple >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<int64_t> parse_epoch_ms(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

struct RuntimeApiClient::Impl {
  explicit Impl(std::string address) : connection(std::move(address)) {
    http::Headers headers{{"Host", connection.address()}, {"User-Agent", kUserAgent}};
    http::append_request_head(next_request, "GET", kNextPath, headers, http::BodyFraming::none());
    http::append_request_head(restore_next_request, "GET", kRestoreNextPath, headers, http::BodyFraming::none());
  }

  // Sends one request and returns the answer; every failure becomes a RuntimeApiError that
  // names the request.
  http::Message exchange(std::string_view method, std::string_view path, std::initializer_list<std::string_view> request,
                         const std::function<void()>& on_interrupted) {
    try {
      return connection.exchange(request, on_interrupted);
    } catch (const http::RemoteProtocolError& error) {
      throw RuntimeApiError("the Runtime API at " + connection.address() + " sent a malformed answer to " +
                            std::string(method) + " " + std::string(path) + ": " + error.what());
    } catch (const ConnectionError& error) {
      throw RuntimeApiError(std::string(method) + " " + std::string(path) + " failed: " + error.what());
    }
  }

  // Headers every post starts with; returned for the caller to add its own.
  http::Headers& start_post_headers(std::string_view content_type) {
    post_headers.clear();
    post_headers.add("Host", connection.address());
    post_headers.add("User-Agent", kUserAgent);
    if (!content_type.empty()) post_headers.add("Content-Type", content_type);
    return post_headers;
  }

  PostAnswer post(std::string_view path, std::string_view body) {
    head.clear();
    try {
      http::append_request_head(head, "POST", path, post_headers, http::BodyFraming::content_length(body.size()));
    } catch (const http::LocalProtocolError& error) {
      throw RuntimeApiError("cannot send POST " + std::string(path) + ": " + error.what());
    }
    // Head and body go out as two pieces of one sendmsg: a 6 MB body is not copied.
    http::Message answer = exchange("POST", path, {head, body}, nullptr);
    return PostAnswer{answer.head.status, std::move(answer.body)};
  }

  // Sends pieces of a request whose body cannot be sent twice (a stream): no retry.
  void send_once(std::string_view path, std::initializer_list<std::string_view> pieces) {
    try {
      connection.send(pieces, nullptr);
    } catch (const ConnectionError& error) {
      throw RuntimeApiError("POST " + std::string(path) + " failed: " + error.what());
    }
  }

  PostAnswer receive_answer(std::string_view path) {
    try {
      http::Message answer = connection.receive_response(nullptr);
      return PostAnswer{answer.head.status, std::move(answer.body)};
    } catch (const http::RemoteProtocolError& error) {
      throw RuntimeApiError("the Runtime API at " + connection.address() + " sent a malformed answer to POST " +
                            std::string(path) + ": " + error.what());
    } catch (const ConnectionError& error) {
      throw RuntimeApiError("POST " + std::string(path) + " failed: " + error.what());
    }
  }

  // Error types name exception classes, made by user code; one that cannot be a header value
  // is left out rather than failing the report: the body carries it as well.
  void add_error_type(std::string_view error_type) {
    if (!error_type.empty() && http::syntax::is_field_value(error_type)) {
      post_headers.add("Lambda-Runtime-Function-Error-Type", error_type);
    }
  }

  Connection connection;
  std::string next_request;          // built once: `next` sends the same bytes every time
  std::string restore_next_request;
  std::string head;                  // reused for every post, so the hot path does not allocate
  http::Headers post_headers;
  std::string path;
  http::ChunkedBodyWriter chunks;
};

RuntimeApiClient::RuntimeApiClient(std::string address) {
  try {
    impl_ = std::make_unique<Impl>(std::move(address));
  } catch (const ConnectionError& error) {
    throw RuntimeApiError(error.what());
  } catch (const http::LocalProtocolError& error) {
    throw RuntimeApiError(std::string("invalid Runtime API address: ") + error.what());
  }
}

RuntimeApiClient::~RuntimeApiClient() = default;

Invocation RuntimeApiClient::next(const std::function<void()>& on_interrupted) {
  http::Message answer = impl_->exchange("GET", kNextPath, {impl_->next_request}, on_interrupted);
  if (answer.head.status != 200) {
    throw RuntimeApiError("the Runtime API answered GET " + std::string(kNextPath) + " with " + describe_answer(answer));
  }
  Invocation invocation;
  using http::syntax::equals_ignore_case;
  for (http::HeaderField field : answer.head.headers) {
    std::string_view name = field.name;
    if (equals_ignore_case(name, "Content-Type")) {
      invocation.content_type.emplace(field.value);
      continue;
    }
    constexpr std::string_view kPrefix = "Lambda-Runtime-";
    if (name.size() <= kPrefix.size() || !equals_ignore_case(name.substr(0, kPrefix.size()), kPrefix)) continue;
    name.remove_prefix(kPrefix.size());
    if (equals_ignore_case(name, "Aws-Request-Id")) {
      invocation.request_id.assign(field.value);
    } else if (equals_ignore_case(name, "Deadline-Ms")) {
      invocation.deadline_ms = parse_epoch_ms(field.value);
    } else if (equals_ignore_case(name, "Invoked-Function-Arn")) {
      invocation.invoked_function_arn.emplace(field.value);
    } else if (equals_ignore_case(name, "Trace-Id")) {
      invocation.trace_id.emplace(field.value);
    } else if (equals_ignore_case(name, "Client-Context")) {
      invocation.client_context.emplace(field.value);
    } else if (equals_ignore_case(name, "Cognito-Identity")) {
      invocation.cognito_identity.emplace(field.value);
    } else if (equals_ignore_case(name, "Aws-Tenant-Id")) {
      invocation.tenant_id.emplace(field.value);
    } else if (equals_ignore_case(name, "Invocation-Id")) {
      invocation.invocation_id.emplace(field.value);
    }
  }
  if (invocation.request_id.empty()) {
    throw RuntimeApiError("the Runtime API answered GET " + std::string(kNextPath) +
                          " without a Lambda-Runtime-Aws-Request-Id header");
  }
  invocation.body = std::move(answer.body);
  return invocation;
}

PostAnswer RuntimeApiClient::post_response(const Invocation& invocation, std::string_view body,
                                           std::string_view content_type) {
  check_request_id(invocation.request_id);
  http::Headers& headers = impl_->start_post_headers(content_type);
  if (invocation.invocation_id) headers.add("Lambda-Runtime-Invocation-Id", *invocation.invocation_id);
  std::string& path = impl_->path;
  path.assign(kInvocationPath).append(invocation.request_id).append("/response");
  return impl_->post(path, body);
}

PostAnswer RuntimeApiClient::post_error(const Invocation& invocation, std::string_view error_json,
                                        std::string_view error_type, std::string_view xray_cause) {
  check_request_id(invocation.request_id);
  http::Headers& headers = impl_->start_post_headers("application/json");
  impl_->add_error_type(error_type);
  if (!xray_cause.empty() && xray_cause.size() < kMaxXRayCauseBytes && http::syntax::is_field_value(xray_cause)) {
    headers.add("Lambda-Runtime-Function-XRay-Error-Cause", xray_cause);
  }
  if (invocation.invocation_id) headers.add("Lambda-Runtime-Invocation-Id", *invocation.invocation_id);
  std::string& path = impl_->path;
  path.assign(kInvocationPath).append(invocation.request_id).append("/error");
  return impl_->post(path, error_json);
}

PostAnswer RuntimeApiClient::post_init_error(std::string_view error_json, std::string_view error_type) {
  impl_->start_post_headers("application/json");
  impl_->add_error_type(error_type);
  return impl_->post(kInitErrorPath, error_json);
}

void RuntimeApiClient::restore_next(const std::function<void()>& on_interrupted) {
  http::Message answer = impl_->exchange("GET", kRestoreNextPath, {impl_->restore_next_request}, on_interrupted);
  if (answer.head.status != 200) {
    throw RuntimeApiError("the Runtime API answered GET " + std::string(kRestoreNextPath) + " with " +
                          describe_answer(answer));
  }
}

PostAnswer RuntimeApiClient::post_restore_error(std::string_view error_json, std::string_view error_type) {
  impl_->start_post_headers("application/json");
  impl_->add_error_type(error_type);
  return impl_->post(kRestoreErrorPath, error_json);
}

std::shared_ptr<ResponseStream> RuntimeApiClient::start_streaming_response(const Invocation& invocation) {
  check_request_id(invocation.request_id);
  return std::make_shared<ResponseStream>(*impl_, invocation);
}

ResponseStream::ResponseStream(RuntimeApiClient::Impl& client, const Invocation& invocation)
    : client_(client), request_id_(invocation.request_id), invocation_id_(invocation.invocation_id) {
  client_.chunks = http::ChunkedBodyWriter();
}

void ResponseStream::check_open() const {
  if (finished_) throw std::logic_error("the response stream has ended: nothing more can be written to it");
}

void ResponseStream::set_content_type(std::string_view content_type) {
  check_open();
  if (started_) throw std::logic_error("the content type cannot change after the first write");
  content_type_.assign(content_type);
}

void ResponseStream::send_head_with(std::string_view a, std::string_view b, std::string_view c) {
  http::Headers& headers = client_.start_post_headers(content_type_);
  headers.add("Lambda-Runtime-Function-Response-Mode", "streaming");
  headers.add("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body");
  if (invocation_id_) headers.add("Lambda-Runtime-Invocation-Id", *invocation_id_);
  std::string& path = client_.path;
  path.assign(kInvocationPath).append(request_id_).append("/response");
  head_.clear();
  try {
    http::append_request_head(head_, "POST", path, headers, http::BodyFraming::chunked());
  } catch (const http::LocalProtocolError& error) {
    throw RuntimeApiError("cannot send POST " + path + ": " + error.what());
  }
  started_ = true;
  client_.send_once(path, {head_, a, b, c});
}

void ResponseStream::write(std::string_view data) {
  check_open();
  if (data.empty()) return;
  // One sendmsg per chunk (with the head before the first), the data not copied.
  std::string_view prefix = client_.chunks.chunk_prefix(data.size());
  std::string_view suffix = http::ChunkedBodyWriter::chunk_suffix();
  try {
    if (!started_) {
      send_head_with(prefix, data, suffix);
    } else {
      client_.send_once(client_.path, {prefix, data, suffix});
    }
  } catch (const RuntimeApiError&) {
    finished_ = true;  // the connection is closed: this stream is over
    throw;
  }
  bytes_written_ += data.size();
}

PostAnswer ResponseStream::finish() {
  check_open();
  return end_body(client_.chunks.finish());
}

PostAnswer ResponseStream::fail(std::string_view error_type, std::string_view error_json) {
  check_open();
  http::Headers trailers;
  if (http::syntax::is_field_value(error_type)) trailers.add("Lambda-Runtime-Function-Error-Type", error_type);
  trailers.add("Lambda-Runtime-Function-Error-Body", base64(error_json));
  return end_body(client_.chunks.finish(trailers));
}

PostAnswer ResponseStream::end_body(std::string_view last_chunk_and_trailers) {
  finished_ = true;
  if (!started_) {
    send_head_with(last_chunk_and_trailers);
  } else {
    client_.send_once(client_.path, {last_chunk_and_trailers});
  }
  answer_ = client_.receive_answer(client_.path);
  return *answer_;
}

}  // namespace lamina::runtime
