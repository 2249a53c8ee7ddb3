// Lambda's side of the Runtime API, as fast as one thread can serve it: a poll loop over the
// listening socket, the runtime's connections and its exit, with the same sans-IO parser the
// client uses reading the runtime's requests. One invocation is in flight at a time, as on
// Lambda; every answer is timed and checked.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/errors.h"
#include "http/headers.h"
#include "http/message_parser.h"
#include "http/message_writer.h"
#include "http/syntax.h"
#include "json_text.h"
#include "runtime_process.h"

namespace lamina::bench {

using Clock = std::chrono::steady_clock;

// Set by the driver's SIGINT/SIGTERM handler; the serve loop stops at its next wake-up.
inline volatile std::sig_atomic_t stop_requested = 0;

// What every event carries.
struct EventTemplate {
  std::string payload;
  std::string content_type;
  std::string function_arn;
  int function_timeout_s = 300;
};

// How answers are checked.
struct ResponseCheck {
  bool enabled = false;
  bool ignore_json_whitespace = true;
  std::string expected_as_given;
  std::string expected;  // without JSON whitespace when ignore_json_whitespace, else as given
};

// Counts and timings of one serve() run.
struct ServeRecord {
  std::size_t answered = 0;           // /response or /error posts for handed-out invocations, warmup included
  std::size_t measured_answered = 0;
  std::vector<std::int64_t> latencies_ns;  // of the measured invocations: event sent -> answer received
  std::optional<Clock::time_point> first_answer_at;
  Clock::time_point measured_start{};  // the first measured event sent
  Clock::time_point measured_end{};    // the last measured answer received
  std::size_t mismatches = 0;
  std::size_t error_posts = 0;      // /error, /init/error, /restore/error, streamed error trailers
  std::size_t protocol_errors = 0;  // malformed requests, answers for unknown request ids
  std::string first_error;

  std::size_t errors() const { return mismatches + error_posts + protocol_errors; }
  void note_error(std::string description) {
    if (first_error.empty()) first_error = std::move(description);
  }
};

enum class ServeEnd { all_answered, runtime_exited, timed_out, interrupted };

class RuntimeApiServer {
 public:
  RuntimeApiServer(EventTemplate event, ResponseCheck check) : event_(std::move(event)), check_(std::move(check)) {
    listener_ = FileDescriptor(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_.valid()) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;  // a random free port
    socklen_t size = sizeof address;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), size) < 0 || ::listen(listener_.get(), 64) < 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &size) < 0) {
      throw std::runtime_error(std::string("cannot listen on 127.0.0.1: ") + std::strerror(errno));
    }
    port_ = ntohs(address.sin_port);
    std::random_device random;
    run_id_ = (static_cast<std::uint64_t>(random()) << 32) | random();
    accepted_.append("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n");
    accepted_.append(R"({"status":"OK"})");
  }

  std::uint16_t port() const { return port_; }

  // Serves `total` invocations, the first `warmup` of them unmeasured, until all are answered,
  // the runtime exits, it sends nothing for `idle_timeout`, or a stop is requested.
  ServeEnd serve(RuntimeProcess& runtime, std::size_t total, std::size_t warmup, std::chrono::milliseconds idle_timeout,
                 ServeRecord& record) {
    total_ = total;
    warmup_ = warmup;
    handed_out_ = 0;
    in_flight_ = false;
    record_ = &record;
    record.latencies_ns.reserve(total > warmup ? total - warmup : 0);
    idle_timeout_ = idle_timeout;
    Clock::time_point last_activity = Clock::now();
    std::vector<pollfd> watched;
    while (record.answered < total) {
      if (stop_requested) return ServeEnd::interrupted;
      watched.clear();
      watched.push_back({listener_.get(), POLLIN, 0});
      watched.push_back({runtime.exit_fd(), POLLIN, 0});  // fd -1 is skipped by poll
      for (const auto& client : clients_) watched.push_back({client->socket.get(), POLLIN, 0});
      auto idle_left = std::chrono::duration_cast<std::chrono::milliseconds>(idle_timeout - (Clock::now() - last_activity));
      int wait_ms = static_cast<int>(std::max<std::int64_t>(0, idle_left.count()));
      if (runtime.exit_fd() < 0) wait_ms = std::min(wait_ms, 50);  // no pidfd: look for an exit now and then
      int ready = ::poll(watched.data(), watched.size(), wait_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      }
      if (ready == 0) {
        if (runtime.has_exited()) return ServeEnd::runtime_exited;
        if (Clock::now() - last_activity >= idle_timeout) return ServeEnd::timed_out;
        continue;
      }
      // The runtime's requests first: one that posts its answer and exits has still answered.
      for (std::size_t index = 2; index < watched.size(); ++index) {
        if (watched[index].revents == 0) continue;
        last_activity = Clock::now();
        Client& client = *clients_[index - 2];
        if (!receive(client)) client.socket.reset();
      }
      clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const auto& c) { return !c->socket.valid(); }),
                     clients_.end());
      if (watched[0].revents != 0) {
        accept_client();
        last_activity = Clock::now();
      }
      if (watched[1].revents != 0 && record.answered < total && runtime.has_exited()) return ServeEnd::runtime_exited;
      dispatch();
    }
    return ServeEnd::all_answered;
  }

  // Forgets the connections of a runtime that is gone.
  void drop_connections() { clients_.clear(); }

 private:
  struct Client {
    FileDescriptor socket;
    http::MessageParser parser{http::MessageKind::request};
    bool waiting_for_next = false;
  };

  void accept_client() {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    auto client = std::make_unique<Client>();
    client->socket = FileDescriptor(fd);
    int enable = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof enable);
    // Sends block (the runtime reads a large event while we write it), but never forever.
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(idle_timeout_.count() / 1000);
    limit.tv_usec = static_cast<suseconds_t>((idle_timeout_.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    clients_.push_back(std::move(client));
  }

  // Reads what arrived and handles every complete request; false when the connection is done.
  bool receive(Client& client) {
    http::ReceiveSpace space = client.parser.receive_space();
    ssize_t received = ::recv(client.socket.get(), space.data, space.size, MSG_DONTWAIT);
    if (received > 0) {
      client.parser.commit_received(static_cast<std::size_t>(received));
    } else if (received == 0) {
      client.parser.receive_eof();
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return true;
    } else {
      return false;  // reset by the runtime: a crash shows up as its exit
    }
    try {
      for (;;) {
        switch (client.parser.next_event()) {
          case http::ParseEvent::need_data:
            return true;
          case http::ParseEvent::head: {
            // curl (awslambdaric's client) asks before sending a large body; without this
            // it waits a second before sending anyway.
            auto expect = client.parser.head().headers.get("expect");
            if (expect && http::syntax::equals_ignore_case(*expect, "100-continue")) {
              send(client, {"HTTP/1.1 100 Continue\r\n\r\n"});
            }
            continue;
          }
          case http::ParseEvent::message: {
            http::Message request = client.parser.take_message();
            handle(client, request);
            if (!request.keep_alive || !client.socket.valid()) return false;
            continue;
          }
          case http::ParseEvent::connection_closed:
            return false;
        }
      }
    } catch (const http::RemoteProtocolError& error) {
      ++record_->protocol_errors;
      record_->note_error(std::string("the runtime sent a malformed request: ") + error.what());
      send(client, {"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"});
      return false;
    }
  }

  void handle(Client& client, const http::Message& request) {
    constexpr std::string_view kRuntime = "/2018-06-01/runtime/";
    constexpr std::string_view kInvocation = "/2018-06-01/runtime/invocation/";
    std::string_view target = request.head.target;
    bool is_get = request.head.method == "GET";
    bool is_post = request.head.method == "POST";
    if (is_get && target == "/2018-06-01/runtime/invocation/next") {
      client.waiting_for_next = true;
      dispatch();
      return;
    }
    if (is_post && target.substr(0, kInvocation.size()) == kInvocation) {
      std::string_view rest = target.substr(kInvocation.size());
      std::size_t slash = rest.find('/');
      std::string_view request_id = rest.substr(0, slash);
      std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (action == "response" || action == "error") {
        receive_answer(client, request_id, action == "error", request);
        return;
      }
    }
    if (is_post && (target == "/2018-06-01/runtime/init/error" || target == "/2018-06-01/runtime/restore/error")) {
      ++record_->error_posts;
      record_->note_error("the runtime posted " + std::string(target.substr(kRuntime.size())) + " (" +
                          error_type_of(request) + "): " + excerpt(request.body));
      send(client, {accepted_});
      return;
    }
    if (is_get && target == "/2018-06-01/runtime/restore/next") {
      send(client, {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
      return;
    }
    static constexpr std::string_view kNotFound =
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
        R"({"errorMessage":"Not found","errorType":"NotFound"})";
    send(client, {kNotFound});
  }

  static std::string error_type_of(const http::Message& request) {
    auto type = request.head.headers.get("Lambda-Runtime-Function-Error-Type");
    return "Lambda-Runtime-Function-Error-Type: " + (type ? std::string(*type) : std::string("(none)"));
  }

  void receive_answer(Client& client, std::string_view request_id, bool is_error, const http::Message& request) {
    Clock::time_point received_at = Clock::now();
    ServeRecord& record = *record_;
    if (!in_flight_ || request_id != in_flight_id_) {
      ++record.protocol_errors;
      record.note_error("an answer for request id " + http::syntax::quote_for_error(request_id) +
                        ", which is not the invocation in flight");
      static constexpr std::string_view kInvalidId =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 68\r\n\r\n"
          R"({"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"})";
      send(client, {kInvalidId});
      return;
    }
    in_flight_ = false;
    if (!record.first_answer_at) record.first_answer_at = received_at;
    std::string which = "invocation #" + std::to_string(in_flight_index_ + 1) + " (" + in_flight_id_ + ")";
    auto streamed_error = request.trailers.get("Lambda-Runtime-Function-Error-Type");
    if (is_error) {
      ++record.error_posts;
      record.note_error(which + " posted /error (" + error_type_of(request) +
                        "): " + excerpt(request.body));
    } else if (streamed_error) {
      ++record.error_posts;
      record.note_error(which + " ended its streamed response with error trailers (" + std::string(*streamed_error) + ")");
    } else if (check_.enabled) {
      check_answer(which, request.body);
    }
    if (in_flight_index_ >= warmup_) {
      record.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(received_at - in_flight_sent_at_).count());
      ++record.measured_answered;
      record.measured_end = received_at;
    }
    ++record.answered;
    send(client, {accepted_});
  }

  void check_answer(const std::string& which, std::string_view body) {
    if (body == check_.expected_as_given) return;  // an echo or the same encoder: no need to normalize
    std::string_view compared = body;
    if (check_.ignore_json_whitespace) {
      normalized_.clear();
      append_without_json_whitespace(normalized_, body);
      compared = normalized_;
    }
    std::string_view expected = check_.expected;
    if (compared == expected) return;
    ++record_->mismatches;
    if (!record_->first_error.empty()) return;
    std::size_t at = 0;
    while (at < compared.size() && at < expected.size() && compared[at] == expected[at]) ++at;
    std::size_t from = at > 40 ? at - 40 : 0;
    record_->note_error(which + " answered " + std::to_string(body.size()) + " bytes that differ from --expect at byte " +
                        std::to_string(at) + (check_.ignore_json_whitespace ? " (JSON whitespace removed)" : "") +
                        ": expected '" + excerpt(expected.substr(from), 100) + "', got '" +
                        excerpt(compared.substr(from), 100) + "'");
  }

  // Hands the next invocation to a runtime connection waiting in `next`, if there is one.
  void dispatch() {
    if (in_flight_ || handed_out_ >= total_) return;
    auto waiting = std::find_if(clients_.begin(), clients_.end(),
                                [](const auto& client) { return client->socket.valid() && client->waiting_for_next; });
    if (waiting == clients_.end()) return;
    Client& client = **waiting;
    client.waiting_for_next = false;

    std::uint64_t sequence = sequence_++;
    char request_id[40];
    std::snprintf(request_id, sizeof request_id, "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(run_id_ >> 32),
                  static_cast<unsigned>(run_id_ >> 16) & 0xffff, static_cast<unsigned>(run_id_ >> 4) & 0xfff,
                  static_cast<unsigned>(sequence >> 48) & 0xfff,
                  static_cast<unsigned long long>(sequence & 0xffffffffffffULL));
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    char trace_id[96];
    std::snprintf(trace_id, sizeof trace_id, "Root=1-%08llx-%012llx%012llx;Parent=%016llx;Sampled=0",
                  static_cast<unsigned long long>(now_ms / 1000), static_cast<unsigned long long>(run_id_ & 0xffffffffffffULL),
                  static_cast<unsigned long long>(sequence & 0xffffffffffffULL),
                  static_cast<unsigned long long>(run_id_ ^ (sequence * 0x9e3779b97f4a7c15ULL)));
    headers_.clear();
    headers_.add("Content-Type", event_.content_type);
    headers_.add("Lambda-Runtime-Aws-Request-Id", request_id);
    headers_.add("Lambda-Runtime-Deadline-Ms", std::to_string(now_ms + event_.function_timeout_s * 1000LL));
    headers_.add("Lambda-Runtime-Invoked-Function-Arn", event_.function_arn);
    headers_.add("Lambda-Runtime-Trace-Id", trace_id);
    head_.clear();
    http::append_response_head(head_, 200, "OK", headers_, http::BodyFraming::content_length(event_.payload.size()));

    in_flight_ = true;
    in_flight_id_ = request_id;
    in_flight_index_ = handed_out_++;
    in_flight_sent_at_ = Clock::now();
    if (in_flight_index_ == warmup_) record_->measured_start = in_flight_sent_at_;
    if (!send(client, {head_, event_.payload})) {
      in_flight_ = false;  // the runtime dropped that connection: the event goes to its next `next`
      --handed_out_;
    }
  }

  // Head and body leave in one sendmsg, the payload straight from its buffer.
  bool send(Client& client, std::initializer_list<std::string_view> pieces) {
    if (runtime::send_pieces(client.socket.get(), pieces, nullptr) == 0) return true;
    client.socket.reset();
    return false;
  }

  EventTemplate event_;
  ResponseCheck check_;
  FileDescriptor listener_;
  std::uint16_t port_ = 0;
  std::uint64_t run_id_ = 0;
  std::uint64_t sequence_ = 0;  // never reset: request ids stay unique across cold-start runs
  std::string accepted_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::chrono::milliseconds idle_timeout_{60000};

  // The run in progress.
  ServeRecord* record_ = nullptr;
  std::size_t total_ = 0;
  std::size_t warmup_ = 0;
  std::size_t handed_out_ = 0;
  bool in_flight_ = false;
  std::string in_flight_id_;
  std::size_t in_flight_index_ = 0;
  Clock::time_point in_flight_sent_at_{};

  // Reused on every invocation so serving does not allocate.
  http::Headers headers_;
  std::string head_;
  std::string normalized_;
};

}  // namespace lamina::bench
