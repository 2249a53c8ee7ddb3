// Serializes HTTP/1.1 heads and chunked-body framing. Bodies are never copied behind the
// head here: the caller sends the head and the body as separate pieces (writev / sendmsg),
// so a 6 MB response goes out from the buffer the handler produced it in.
// Anything that would not parse back as intended (a line break in a header value, a bad
// method or target) throws LocalProtocolError instead of reaching the wire.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/headers.h"

namespace lamina::http {

// How the body after a head is delimited. The writer emits the matching header, so callers
// must not put Content-Length or Transfer-Encoding in their own headers.
class BodyFraming {
 public:
  static BodyFraming none() { return BodyFraming(Kind::none, 0); }  // no body, no length (GET)
  static BodyFraming content_length(std::size_t length) { return BodyFraming(Kind::content_length, length); }
  static BodyFraming chunked() { return BodyFraming(Kind::chunked, 0); }

  enum class Kind { none, content_length, chunked };
  Kind kind() const { return kind_; }
  std::size_t length() const { return length_; }

 private:
  BodyFraming(Kind kind, std::size_t length) : kind_(kind), length_(length) {}
  Kind kind_;
  std::size_t length_;
};

// Appends "METHOD target HTTP/1.1\r\n" + fields + framing header + "\r\n" to `out`.
void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         const Headers& headers, BodyFraming framing);
// Appends "HTTP/1.1 status reason\r\n" + fields + framing header + "\r\n" to `out`.
void append_response_head(std::string& out, int status, std::string_view reason, const Headers& headers,
                          BodyFraming framing);

// Frames a body sent with Transfer-Encoding: chunked. Each piece of data goes out as
// chunk_prefix(size), the data itself, chunk_suffix(); finish() ends the body, with trailers.
class ChunkedBodyWriter {
 public:
  // "<size in hex>\r\n". An empty chunk would end the body, so size must not be 0.
  std::string_view chunk_prefix(std::size_t size);
  static std::string_view chunk_suffix() { return "\r\n"; }
  // The whole framed chunk in `out`, for small pieces; appends nothing for empty data.
  void append_chunk(std::string& out, std::string_view data);
  // The last chunk and the trailer section: "0\r\n" + trailer fields + "\r\n". Trailers are
  // checked like headers; the ones sent should be announced in the head's `Trailer` field.
  std::string finish(const Headers& trailers = {});
  bool finished() const { return finished_; }

 private:
  void check_open() const;
  char prefix_[24] = {};
  bool finished_ = false;
};

}  // namespace lamina::http
