#include "runtime/connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "http/syntax.h"

namespace lamina::runtime {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

void run_interrupt_handler(const InterruptHandler& on_interrupted) {
  if (on_interrupted) on_interrupted();
}

// connect() interrupted by a signal keeps connecting in the background: wait for it to
// finish instead of calling connect() again (which would fail with EALREADY).
int finish_interrupted_connect(int fd, const InterruptHandler& on_interrupted) {
  for (;;) {
    pollfd waiting{fd, POLLOUT, 0};
    int ready = ::poll(&waiting, 1, -1);
    if (ready < 0 && errno == EINTR) {
      run_interrupt_handler(on_interrupted);
      continue;
    }
    if (ready < 0) return errno;
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0) return errno;
    return error;
  }
}

}  // namespace

int send_pieces(int fd, std::initializer_list<std::string_view> pieces, const InterruptHandler& on_interrupted) {
  constexpr std::size_t kMaxPieces = 16;
  if (pieces.size() > kMaxPieces) throw std::logic_error("send_pieces: more than 16 pieces");
  iovec vectors[kMaxPieces];
  std::size_t count = 0;
  for (std::string_view piece : pieces) {
    if (!piece.empty()) vectors[count++] = {const_cast<char*>(piece.data()), piece.size()};
  }
  std::size_t first = 0;
  while (first < count) {
    msghdr message{};
    message.msg_iov = vectors + first;
    message.msg_iovlen = count - first;
    ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno != EINTR) return errno;
      run_interrupt_handler(on_interrupted);
      continue;
    }
    auto remaining = static_cast<std::size_t>(sent);
    while (first < count && remaining >= vectors[first].iov_len) remaining -= vectors[first++].iov_len;
    if (first < count) {
      vectors[first].iov_base = static_cast<char*>(vectors[first].iov_base) + remaining;
      vectors[first].iov_len -= remaining;
    }
  }
  return 0;
}

void FileDescriptor::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Endpoint parse_endpoint(std::string_view address) {
  auto invalid = [&](const char* why) {
    return ConnectionError("invalid Runtime API address " + http::syntax::quote_for_error(address) + ": " + why +
                           " (expected host:port, e.g. 127.0.0.1:9001 or [::1]:9001)");
  };
  Endpoint endpoint;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    std::size_t close = address.find(']');
    if (close == std::string_view::npos) throw invalid("'[' without ']'");
    endpoint.host = std::string(address.substr(1, close - 1));
    if (address.substr(close + 1, 1) != ":") throw invalid("no ':port' after the bracketed IPv6 address");
    port = address.substr(close + 2);
  } else {
    std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) throw invalid("no ':port'");
    if (address.find(':') != colon) throw invalid("an IPv6 address must be in brackets");
    endpoint.host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
  }
  if (endpoint.host.empty()) throw invalid("empty host");
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
    throw invalid("the port must be a number from 1 to 65535");
  }
  endpoint.port = std::string(port);
  return endpoint;
}

Connection::Connection(std::string address, http::ParserLimits limits)
    : address_(std::move(address)),
      endpoint_(parse_endpoint(address_)),
      limits_(limits),
      parser_(http::MessageKind::response, limits) {}

void Connection::close() {
  socket_.reset();
  parser_ = http::MessageParser(http::MessageKind::response, limits_);
}

void Connection::connect(const InterruptHandler& on_interrupted) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;  // not AI_ADDRCONFIG: it hides ::1 on hosts with only loopback IPv6
  addrinfo* found = nullptr;
  int resolved = ::getaddrinfo(endpoint_.host.c_str(), endpoint_.port.c_str(), &hints, &found);
  if (resolved != 0) {
    throw ConnectionError("cannot resolve the Runtime API host '" + endpoint_.host + "' (" + address_ +
                          "): " + ::gai_strerror(resolved));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  int last_error = 0;
  for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    FileDescriptor fd(::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol));
    if (!fd.valid()) {
      last_error = errno;
      continue;
    }
    // Without it, a request written in two segments waits ~40 ms for a delayed ACK on loopback.
    int enable = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &enable, sizeof enable);
    int error = ::connect(fd.get(), candidate->ai_addr, candidate->ai_addrlen) == 0 ? 0 : errno;
    if (error == EINTR) error = finish_interrupted_connect(fd.get(), on_interrupted);
    if (error == 0) {
      socket_ = std::move(fd);
      ++connections_opened_;
      return;
    }
    last_error = error;
  }
  throw ConnectionError("cannot connect to the Runtime API at " + address_ + ": " + errno_text(last_error) +
                        " (is AWS_LAMBDA_RUNTIME_API right, and is the Runtime API up?)");
}

void Connection::send_all(std::initializer_list<std::string_view> pieces, const InterruptHandler& on_interrupted) {
  int error = send_pieces(socket_.get(), pieces, on_interrupted);
  if (error == EPIPE || error == ECONNRESET) {
    throw ConnectionClosedByPeer("the Runtime API at " + address_ + " closed the connection (" + errno_text(error) + ")");
  }
  if (error != 0) throw ConnectionError("sending to the Runtime API at " + address_ + " failed: " + errno_text(error));
}

void Connection::send(std::initializer_list<std::string_view> pieces, const InterruptHandler& on_interrupted) {
  try {
    if (!socket_.valid()) connect(on_interrupted);
    send_all(pieces, on_interrupted);
  } catch (...) {
    close();
    throw;
  }
}

http::Message Connection::receive_response(const InterruptHandler& on_interrupted) {
  try {
    for (;;) {
      switch (parser_.next_event()) {
        case http::ParseEvent::message: {
          http::Message response = parser_.take_message();
          if (response.head.status < 200) continue;  // interim (1xx): the real answer follows
          if (!response.keep_alive || parser_.buffered_bytes() > 0) close();  // nothing more can follow in turn
          return response;
        }
        case http::ParseEvent::head:
          continue;
        case http::ParseEvent::connection_closed:
          throw ConnectionClosedByPeer("the Runtime API at " + address_ + " closed the connection before answering");
        case http::ParseEvent::need_data:
          break;
      }
      http::ReceiveSpace space = parser_.receive_space();
      ssize_t received = ::recv(socket_.get(), space.data, space.size, 0);
      if (received > 0) {
        parser_.commit_received(static_cast<std::size_t>(received));
      } else if (received == 0) {
        parser_.receive_eof();
      } else if (errno == EINTR) {
        run_interrupt_handler(on_interrupted);
      } else if (errno == ECONNRESET) {
        // A reset before the answer started is a dropped idle connection; after, the parser
        // says how much of the answer was lost.
        if (!parser_.started_message()) {
          throw ConnectionClosedByPeer("the Runtime API at " + address_ + " reset the connection before answering");
        }
        parser_.receive_eof();
      } else {
        throw ConnectionError("receiving from the Runtime API at " + address_ + " failed: " + errno_text(errno));
      }
    }
  } catch (...) {
    close();
    throw;
  }
}

http::Message Connection::exchange(std::initializer_list<std::string_view> request,
                                   const InterruptHandler& on_interrupted) {
  for (int attempt = 1;; ++attempt) {
    try {
      if (!socket_.valid()) connect(on_interrupted);
      int error = send_pieces(socket_.get(), request, on_interrupted);
      if (error != 0 && error != EPIPE && error != ECONNRESET) {
        throw ConnectionError("sending to the Runtime API at " + address_ + " failed: " + errno_text(error));
      }
      // After EPIPE or ECONNRESET the peer stopped reading, but it may have answered first (a
      // 413 for a body over its limit): that answer is the result. Without one, the peer dropped
      // the connection, and receive_response says so.
      return receive_response(on_interrupted);
    } catch (const ConnectionClosedByPeer& closed) {
      close();
      if (attempt == 2) throw ConnectionError(std::string(closed.what()) + ", again after reconnecting");
    } catch (...) {
      close();
      throw;
    }
  }
}

}  // namespace lamina::runtime
