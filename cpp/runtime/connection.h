// The thin socket shell around the sans-IO HTTP parser and writer: one keep-alive TCP
// connection to a "host:port", blocking send/recv, TCP_NODELAY, transparent reconnect.
// Everything HTTP is decided in cpp/http; this file only moves bytes and handles errno.
#pragma once

#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "http/message.h"
#include "http/message_parser.h"

namespace lamina::runtime {

// Runs when a signal interrupts a blocking call (EINTR): lets the caller run its signal
// handlers (Python's, for a SIGTERM handler while waiting for `next`). It may throw to
// abandon the call; the connection is then closed, as its answer would arrive out of turn.
using InterruptHandler = std::function<void()>;

// The peer could not be reached or the connection broke; the message says which and where.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The peer closed the connection (EOF, ECONNRESET, EPIPE) before any byte of the answer:
// typically an idle keep-alive connection it dropped. Safe to reconnect and send again.
class ConnectionClosedByPeer : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

// Owns a file descriptor and closes it exactly once.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() { reset(); }
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes every byte of `pieces` to a blocking socket, gathered (sendmsg, not joined first)
// and with MSG_NOSIGNAL, so a closed peer gives EPIPE instead of SIGPIPE. EINTR runs
// `on_interrupted` and goes on. Returns 0, or the errno that stopped it. At most 16 pieces.
int send_pieces(int fd, std::initializer_list<std::string_view> pieces, const InterruptHandler& on_interrupted);

// "host:port" split for getaddrinfo: "127.0.0.1:9001", "[::1]:9001", "localhost:9001".
struct Endpoint {
  std::string host;
  std::string port;
};
// Throws ConnectionError naming what is wrong with `address`.
Endpoint parse_endpoint(std::string_view address);

class Connection {
 public:
  // Parses `address` now; connects on first use.
  explicit Connection(std::string address, http::ParserLimits limits = {});

  // Sends a request (its pieces go out in one sendmsg, without being joined) and returns
  // the response. If the peer closed the connection before any byte of the answer arrived,
  // reconnects and sends once more. A peer that answers and stops reading before the whole
  // body is sent (413) still has its answer returned. Throws ConnectionError or
  // http::ProtocolError, after which the connection is closed and the next call reconnects.
  http::Message exchange(std::initializer_list<std::string_view> request, const InterruptHandler& on_interrupted);

  // The two halves of exchange(), without the retry, for requests whose body cannot be
  // sent twice (a streamed response). Connects if needed.
  void send(std::initializer_list<std::string_view> pieces, const InterruptHandler& on_interrupted);
  http::Message receive_response(const InterruptHandler& on_interrupted);

  void close();
  bool is_open() const { return socket_.valid(); }
  const std::string& address() const { return address_; }
  // How many TCP connections this object has opened (diagnostics and tests).
  int connections_opened() const { return connections_opened_; }

 private:
  void connect(const InterruptHandler& on_interrupted);
  void send_all(std::initializer_list<std::string_view> pieces, const InterruptHandler& on_interrupted);

  std::string address_;
  Endpoint endpoint_;
  http::ParserLimits limits_;
  FileDescriptor socket_;
  http::MessageParser parser_;
  int connections_opened_ = 0;
};

}  // namespace lamina::runtime
