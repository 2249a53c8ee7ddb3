#include "http/message_writer.h"

#include <cstdio>

#include "http/errors.h"
#include "http/syntax.h"

namespace lamina::http {

namespace {

void append_fields(std::string& out, const Headers& fields, bool framing_is_ours) {
  for (HeaderField field : fields) {
    if (!syntax::is_token(field.name)) {
      throw LocalProtocolError("invalid header name " + syntax::quote_for_error(field.name));
    }
    if (!syntax::is_field_value(field.value)) {
      throw LocalProtocolError("header " + std::string(field.name) +
                               " has a control character (CR, LF, NUL...) in its value");
    }
    if (framing_is_ours && (syntax::equals_ignore_case(field.name, "content-length") ||
                            syntax::equals_ignore_case(field.name, "transfer-encoding"))) {
      throw LocalProtocolError("header " + std::string(field.name) +
                               " is written from the BodyFraming, not given as a header");
    }
    out.append(field.name);
    out.append(": ");
    out.append(field.value);
    out.append("\r\n");
  }
}

void append_framing_and_end(std::string& out, BodyFraming framing) {
  switch (framing.kind()) {
    case BodyFraming::Kind::none:
      break;
    case BodyFraming::Kind::content_length:
      out.append("Content-Length: ");
      out.append(std::to_string(framing.length()));
      out.append("\r\n");
      break;
    case BodyFraming::Kind::chunked:
      out.append("Transfer-Encoding: chunked\r\n");
      break;
  }
  out.append("\r\n");
}

}  // namespace

void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         const Headers& headers, BodyFraming framing) {
  if (!syntax::is_token(method)) throw LocalProtocolError("invalid method " + syntax::quote_for_error(method));
  if (!syntax::is_request_target(target)) {
    throw LocalProtocolError("invalid request target " + syntax::quote_for_error(target) +
                             " (empty, or has spaces or control characters)");
  }
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
  append_fields(out, headers, true);
  append_framing_and_end(out, framing);
}

void append_response_head(std::string& out, int status, std::string_view reason, const Headers& headers,
                          BodyFraming framing) {
  if (status < 100 || status > 999) throw LocalProtocolError("invalid status code " + std::to_string(status));
  if (!syntax::is_field_value(reason)) {
    throw LocalProtocolError("reason phrase has a control character: " + syntax::quote_for_error(reason));
  }
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
  append_fields(out, headers, true);
  append_framing_and_end(out, framing);
}

void ChunkedBodyWriter::check_open() const {
  if (finished_) throw LocalProtocolError("chunked body already finished");
}

std::string_view ChunkedBodyWriter::chunk_prefix(std::size_t size) {
  check_open();
  if (size == 0) throw LocalProtocolError("an empty chunk would end the body; skip empty data instead");
  int length = std::snprintf(prefix_, sizeof prefix_, "%zx\r\n", size);
  return {prefix_, static_cast<std::size_t>(length)};
}

void ChunkedBodyWriter::append_chunk(std::string& out, std::string_view data) {
  check_open();
  if (data.empty()) return;
  out.append(chunk_prefix(data.size()));
  out.append(data);
  out.append(chunk_suffix());
}

std::string ChunkedBodyWriter::finish(const Headers& trailers) {
  check_open();
  std::string out = "0\r\n";
  append_fields(out, trailers, false);
  out.append("\r\n");
  finished_ = true;
  return out;
}

}  // namespace lamina::http
