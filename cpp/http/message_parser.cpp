#include "http/message_parser.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "http/errors.h"
#include "http/syntax.h"

namespace lamina::http {

namespace {

// Room offered for heads, chunk framing and small bodies: one recv() usually brings a whole
// Runtime API answer.
constexpr std::size_t kBufferedReceiveSize = 64 * 1024;
// Body bytes still expected from this size on are received straight into the body.
constexpr std::size_t kDirectReceiveThreshold = 16 * 1024;
// A body buffer is zero-filled (std::string cannot grow without it) at most this far ahead
// of the data, so a large Content-Length costs memory only as its bytes arrive.
constexpr std::size_t kBodyWindow = 1024 * 1024;
// Size digits plus extensions; real chunk lines are a few bytes.
constexpr std::size_t kMaxChunkSizeLine = 4096;

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "HTTP/1.1" -> 1. Any other major version is a peer we cannot talk to.
int parse_version(std::string_view version, std::string_view line, const char* what) {
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) && version[6] == '.' &&
      is_digit(version[7])) {
    if (version[5] != '1') {
      throw RemoteProtocolError("unsupported HTTP version " + syntax::quote_for_error(version) + " in " + what + " " +
                                syntax::quote_for_error(line) + " (only HTTP/1.x)");
    }
    return version[7] - '0';
  }
  throw RemoteProtocolError(std::string("malformed ") + what + " " + syntax::quote_for_error(line));
}

// Connection options are a comma-separated list of case-insensitive tokens.
bool has_connection_option(const Headers& headers, std::string_view option) {
  for (std::string_view value : headers.get_all("connection")) {
    while (!value.empty()) {
      std::size_t comma = value.find(',');
      std::string_view item = syntax::trim_whitespace(value.substr(0, comma));
      if (syntax::equals_ignore_case(item, option)) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace

MessageParser::MessageParser(MessageKind kind, ParserLimits limits) : kind_(kind), limits_(limits) {}

void MessageParser::fail(std::string message) {
  state_ = State::failed;
  error_ = message;
  throw RemoteProtocolError(std::move(message));
}

void MessageParser::receive(std::string_view bytes) {
  if (eof_ && !bytes.empty()) throw std::logic_error("MessageParser::receive after receive_eof");
  space_is_body_ = false;
  buffer_.append(bytes);
}

ReceiveSpace MessageParser::receive_space() {
  space_is_body_ = false;
  if (buffer_.empty()) {
    std::uint64_t expected = 0;
    if (state_ == State::fixed_body) expected = content_length_ - body_received_;
    if (state_ == State::chunk_data) expected = chunk_remaining_;
    if (expected >= kDirectReceiveThreshold) {
      std::size_t window = static_cast<std::size_t>(std::min<std::uint64_t>(expected, kBodyWindow));
      std::string& body = message_.body;
      if (body.size() < body_received_ + window) body.resize(body_received_ + window);
      space_is_body_ = true;
      return {body.data() + body_received_, body.size() - static_cast<std::size_t>(body_received_)};
    }
  }
  return buffer_.prepare(kBufferedReceiveSize);
}

void MessageParser::commit_received(std::size_t count) {
  if (!space_is_body_) {
    buffer_.commit(count);
    return;
  }
  space_is_body_ = false;
  body_received_ += count;
  if (state_ == State::chunk_data) chunk_remaining_ -= count;
}

void MessageParser::receive_eof() {
  space_is_body_ = false;
  eof_ = true;
}

std::size_t MessageParser::find_line_end() {
  std::string_view data = buffer_.contents();
  std::size_t newline = data.find('\n', scanned_);
  if (newline == std::string_view::npos) {
    scanned_ = data.size();
    return std::string_view::npos;
  }
  return newline + 1;
}

std::size_t MessageParser::find_section_end() {
  std::string_view data = buffer_.contents();
  for (;;) {
    std::size_t newline = data.find('\n', std::max(scanned_, section_line_start_));
    if (newline == std::string_view::npos) {
      scanned_ = data.size();
      return std::string_view::npos;
    }
    std::string_view line = data.substr(section_line_start_, newline - section_line_start_);
    section_line_start_ = newline + 1;
    scanned_ = section_line_start_;
    if (line.empty() || line == "\r") return section_line_start_;
  }
}

std::size_t MessageParser::move_buffered_into_body(std::size_t wanted) {
  std::size_t count = std::min(wanted, buffer_.size());
  if (count == 0) return 0;
  std::string& body = message_.body;
  if (body.size() < body_received_ + count) body.resize(body_received_ + count);
  std::memcpy(body.data() + body_received_, buffer_.contents().data(), count);
  buffer_.consume(count);
  body_received_ += count;
  return count;
}

ParseEvent MessageParser::next_event() {
  for (;;) {
    switch (state_) {
      case State::head: {
        std::size_t head_end = find_section_end();
        if (head_end == std::string_view::npos) {
          if (buffer_.size() > limits_.max_head_bytes) {
            fail("message head exceeds the limit of " + std::to_string(limits_.max_head_bytes) + " bytes");
          }
          if (!eof_) return ParseEvent::need_data;
          if (buffer_.empty()) {
            state_ = State::closed;
            return ParseEvent::connection_closed;
          }
          fail("connection closed in the middle of the message head (" + std::to_string(buffer_.size()) +
               " bytes received: " + syntax::quote_for_error(buffer_.contents(), 60) + ")");
        }
        if (head_end > limits_.max_head_bytes) {
          fail("message head exceeds the limit of " + std::to_string(limits_.max_head_bytes) + " bytes");
        }
        try {
          parse_head(buffer_.contents().substr(0, head_end));
          buffer_.consume(head_end);
          scanned_ = section_line_start_ = 0;
          begin_body();
        } catch (const RemoteProtocolError& error) {
          fail(error.what());
        }
        return ParseEvent::head;
      }

      case State::fixed_body: {
        move_buffered_into_body(static_cast<std::size_t>(content_length_ - body_received_));
        if (body_received_ == content_length_) {
          state_ = State::complete;
          continue;
        }
        if (eof_) {
          fail("connection closed after " + std::to_string(body_received_) + " of " + std::to_string(content_length_) +
               " body bytes");
        }
        return ParseEvent::need_data;
      }

      case State::chunk_size_line: {
        std::size_t line_end = find_line_end();
        if (line_end == std::string_view::npos || line_end > kMaxChunkSizeLine) {
          if (buffer_.size() > kMaxChunkSizeLine) {
            fail("chunk size line longer than " + std::to_string(kMaxChunkSizeLine) + " bytes");
          }
          if (eof_) {
            fail("connection closed in a chunked body after " + std::to_string(body_received_) + " body bytes");
          }
          return ParseEvent::need_data;
        }
        std::string_view line = strip_cr(buffer_.contents().substr(0, line_end - 1));
        parse_chunk_size_line(line);
        buffer_.consume(line_end);
        scanned_ = 0;
        continue;
      }

      case State::chunk_data: {
        chunk_remaining_ -= move_buffered_into_body(static_cast<std::size_t>(chunk_remaining_));
        if (chunk_remaining_ == 0) {
          state_ = State::chunk_data_end;
          continue;
        }
        if (eof_) {
          fail("connection closed in a chunked body after " + std::to_string(body_received_) + " body bytes (" +
               std::to_string(chunk_remaining_) + " bytes of the current chunk missing)");
        }
        return ParseEvent::need_data;
      }

      case State::chunk_data_end: {
        std::string_view data = buffer_.contents();
        std::size_t crlf = data.substr(0, 2) == "\r\n" ? 2 : data.substr(0, 1) == "\n" ? 1 : 0;
        if (crlf == 0) {
          if (data.empty() || data == "\r") {
            if (eof_) {
              fail("connection closed in a chunked body after " + std::to_string(body_received_) + " body bytes");
            }
            return ParseEvent::need_data;
          }
          fail("chunk data not followed by CRLF (got " + syntax::quote_for_error(data, 20) + ")");
        }
        buffer_.consume(crlf);
        state_ = State::chunk_size_line;
        continue;
      }

      case State::trailers: {
        std::size_t section_end = find_section_end();
        if (section_end == std::string_view::npos) {
          if (buffer_.size() > limits_.max_head_bytes) {
            fail("trailer section exceeds the limit of " + std::to_string(limits_.max_head_bytes) + " bytes");
          }
          if (eof_) fail("connection closed in the trailer section of a chunked body");
          return ParseEvent::need_data;
        }
        if (section_end > limits_.max_head_bytes) {
          fail("trailer section exceeds the limit of " + std::to_string(limits_.max_head_bytes) + " bytes");
        }
        std::string_view section = buffer_.contents().substr(0, section_end);
        try {
          while (!section.empty()) {
            std::size_t newline = section.find('\n');
            std::string_view line = strip_cr(section.substr(0, newline));
            section.remove_prefix(newline + 1);
            if (!line.empty()) parse_field_line(line, message_.trailers);
          }
        } catch (const RemoteProtocolError& error) {
          fail(std::string("in the trailer section: ") + error.what());
        }
        buffer_.consume(section_end);
        scanned_ = section_line_start_ = 0;
        state_ = State::complete;
        continue;
      }

      case State::body_until_close: {
        std::size_t buffered = buffer_.size();
        if (body_received_ + buffered > limits_.max_body_bytes) {
          fail("body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes");
        }
        move_buffered_into_body(buffered);
        if (!eof_) return ParseEvent::need_data;
        state_ = State::complete;
        continue;
      }

      case State::complete:
        message_.body.resize(static_cast<std::size_t>(body_received_));
        return ParseEvent::message;

      case State::closed:
        return ParseEvent::connection_closed;

      case State::failed:
        throw RemoteProtocolError(error_);
    }
  }
}

Message MessageParser::take_message() {
  if (state_ != State::complete) throw std::logic_error("MessageParser::take_message before the message event");
  message_.body.resize(static_cast<std::size_t>(body_received_));
  Message complete = std::move(message_);
  message_ = Message{};
  content_length_ = body_received_ = chunk_remaining_ = 0;
  state_ = State::head;
  return complete;
}

void MessageParser::parse_head(std::string_view head) {
  bool start_line = true;
  while (!head.empty()) {
    std::size_t newline = head.find('\n');
    std::string_view line = strip_cr(head.substr(0, newline));
    head.remove_prefix(newline + 1);
    if (line.find('\r') != std::string_view::npos) {
      throw RemoteProtocolError("bare CR in message head line " + syntax::quote_for_error(line));
    }
    if (start_line) {
      parse_start_line(line);
      start_line = false;
    } else if (!line.empty()) {
      parse_field_line(line, message_.head.headers);
    }
  }
  const MessageHead& parsed = message_.head;
  message_.keep_alive = parsed.minor_version >= 1 ? !has_connection_option(parsed.headers, "close")
                                                  : has_connection_option(parsed.headers, "keep-alive");
}

void MessageParser::parse_start_line(std::string_view line) {
  MessageHead& head = message_.head;
  if (kind_ == MessageKind::response) {
    // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]; a missing SP after the code
    // is tolerated as h11 does.
    std::size_t space = line.find(' ');
    head.minor_version = parse_version(line.substr(0, space), line, "status line");
    std::string_view rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]) ||
        (rest.size() > 3 && rest[3] != ' ')) {
      throw RemoteProtocolError("malformed status line " + syntax::quote_for_error(line));
    }
    head.status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    if (head.status < 100) throw RemoteProtocolError("malformed status line " + syntax::quote_for_error(line));
    std::string_view reason = rest.size() > 4 ? rest.substr(4) : std::string_view();
    if (!syntax::is_field_value(reason)) {
      throw RemoteProtocolError("control character in the reason phrase of " + syntax::quote_for_error(line));
    }
    head.reason.assign(reason);
    return;
  }
  // request-line = method SP request-target SP HTTP-version
  std::size_t first_space = line.find(' ');
  std::size_t second_space = first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) {
    throw RemoteProtocolError("malformed request line " + syntax::quote_for_error(line));
  }
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  if (!syntax::is_token(method) || !syntax::is_request_target(target)) {
    throw RemoteProtocolError("malformed request line " + syntax::quote_for_error(line));
  }
  head.minor_version = parse_version(line.substr(second_space + 1), line, "request line");
  head.method.assign(method);
  head.target.assign(target);
}

void MessageParser::parse_field_line(std::string_view line, Headers& into) {
  if (syntax::is_whitespace(line.front())) {
    throw RemoteProtocolError("header line starting with whitespace " + syntax::quote_for_error(line) +
                              " (obsolete line folding is not accepted)");
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    throw RemoteProtocolError("malformed header line " + syntax::quote_for_error(line) + " (no colon)");
  }
  std::string_view name = line.substr(0, colon);
  if (!syntax::is_token(name)) {
    const char* why = !name.empty() && syntax::is_whitespace(name.back()) ? " (whitespace before the colon)" : "";
    throw RemoteProtocolError("malformed header name in " + syntax::quote_for_error(line) + why);
  }
  std::string_view value = syntax::trim_whitespace(line.substr(colon + 1));
  if (!syntax::is_field_value(value)) {
    throw RemoteProtocolError("control character in the value of header " + syntax::quote_for_error(name));
  }
  into.add(name, value);
}

std::uint64_t MessageParser::parse_content_length() const {
  // Content-Length = 1*DIGIT; a list of identical values ("5, 5") is one length (RFC 9110 8.6).
  std::string_view agreed;
  for (std::string_view value : message_.head.headers.get_all("content-length")) {
    for (;;) {
      std::size_t comma = value.find(',');
      std::string_view item = syntax::trim_whitespace(value.substr(0, comma));
      if (item.empty() || !std::all_of(item.begin(), item.end(), is_digit)) {
        throw RemoteProtocolError("invalid Content-Length " + syntax::quote_for_error(item));
      }
      while (item.size() > 1 && item.front() == '0') item.remove_prefix(1);
      if (!agreed.empty() && item != agreed) {
        throw RemoteProtocolError("conflicting Content-Length values " + syntax::quote_for_error(agreed) + " and " +
                                  syntax::quote_for_error(item));
      }
      agreed = item;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  std::string limit = std::to_string(limits_.max_body_bytes);
  if (agreed.size() > limit.size() || (agreed.size() == limit.size() && agreed > limit)) {
    throw RemoteProtocolError("Content-Length " + std::string(agreed) + " exceeds the body limit of " + limit +
                              " bytes");
  }
  std::uint64_t length = 0;
  for (char digit : agreed) length = length * 10 + static_cast<std::uint64_t>(digit - '0');
  return length;
}

void MessageParser::begin_body() {
  const MessageHead& head = message_.head;
  content_length_ = body_received_ = chunk_remaining_ = 0;
  if (kind_ == MessageKind::response && (head.status < 200 || head.status == 204 || head.status == 304)) {
    state_ = State::complete;  // these never have a body, whatever the headers say
    return;
  }
  std::vector<std::string_view> transfer_encodings = head.headers.get_all("transfer-encoding");
  if (!transfer_encodings.empty()) {
    if (head.headers.contains("content-length")) {
      // Two framings that can disagree are how requests get smuggled: refuse rather than pick.
      throw RemoteProtocolError("both Transfer-Encoding and Content-Length are set");
    }
    std::vector<std::string_view> codings;
    for (std::string_view value : transfer_encodings) {
      for (;;) {
        std::size_t comma = value.find(',');
        codings.push_back(syntax::trim_whitespace(value.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
      }
    }
    if (codings.size() != 1 || !syntax::equals_ignore_case(codings.front(), "chunked")) {
      std::string joined;
      for (std::string_view value : transfer_encodings) joined += (joined.empty() ? "" : ", ") + std::string(value);
      throw RemoteProtocolError("unsupported Transfer-Encoding " + syntax::quote_for_error(joined) +
                                " (only 'chunked' is accepted)");
    }
    state_ = State::chunk_size_line;
    return;
  }
  if (head.headers.contains("content-length")) {
    content_length_ = parse_content_length();
    // Reserving takes address space, not memory: pages are touched as the body arrives.
    message_.body.reserve(static_cast<std::size_t>(content_length_));
    state_ = content_length_ == 0 ? State::complete : State::fixed_body;
    return;
  }
  if (kind_ == MessageKind::request) {
    state_ = State::complete;  // a request without framing headers has no body
    return;
  }
  message_.keep_alive = false;  // the body ends when the server closes the connection
  state_ = State::body_until_close;
}

void MessageParser::parse_chunk_size_line(std::string_view line) {
  // chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
  // Extensions carry nothing we use: they are checked for control characters and dropped.
  std::size_t digits = 0;
  std::uint64_t size = 0;
  while (digits < line.size() && hex_value(line[digits]) >= 0) {
    if (digits == 15) {
      fail("chunk size too large in " + syntax::quote_for_error(line));
    }
    size = size * 16 + static_cast<std::uint64_t>(hex_value(line[digits]));
    ++digits;
  }
  std::string_view rest = syntax::trim_whitespace(line.substr(digits));
  if (digits == 0 || (!rest.empty() && (rest.front() != ';' || !syntax::is_field_value(rest)))) {
    fail("invalid chunk size line " + syntax::quote_for_error(line));
  }
  if (size > limits_.max_body_bytes - body_received_) {
    fail("chunked body exceeds the body limit of " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  if (size == 0) {
    state_ = State::trailers;
    return;
  }
  message_.body.reserve(static_cast<std::size_t>(body_received_ + size));
  chunk_remaining_ = size;
  state_ = State::chunk_data;
}

}  // namespace lamina::http
