// An HTTP/1.1 message as the parser delivers it and the writer takes it apart.
#pragma once

#include <string>

#include "http/headers.h"

namespace lamina::http {

enum class MessageKind { request, response };

struct MessageHead {
  std::string method;      // requests: "GET", "POST"...
  std::string target;      // requests: "/2018-06-01/runtime/invocation/next"
  int status = 0;          // responses: 100-999
  std::string reason;      // responses: may be empty
  int minor_version = 1;   // HTTP/1.<minor_version>
  Headers headers;
};

struct Message {
  MessageHead head;
  std::string body;  // de-chunked
  Headers trailers;  // fields after a chunked body's last chunk
  // Whether the connection can carry another message after this one: false after
  // `Connection: close`, an HTTP/1.0 message without keep-alive, or a body ended by closing.
  bool keep_alive = true;
};

}  // namespace lamina::http
