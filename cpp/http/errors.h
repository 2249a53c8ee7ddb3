// What goes wrong on the wire, split the way h11 splits it: the peer broke the protocol
// (RemoteProtocolError: the bytes we received are not HTTP/1.1 we accept, or the peer closed
// the connection mid-message), or we were about to (LocalProtocolError: a header value with a
// line break, a bad method...). Neither is recoverable on that connection.
#pragma once

#include <stdexcept>

namespace lamina::http {

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RemoteProtocolError : public ProtocolError {
 public:
  using ProtocolError::ProtocolError;
};

class LocalProtocolError : public ProtocolError {
 public:
  using ProtocolError::ProtocolError;
};

}  // namespace lamina::http
