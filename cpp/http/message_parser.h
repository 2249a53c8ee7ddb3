// An incremental HTTP/1.1 parser for requests or responses, with no I/O inside: bytes in,
// events out. The socket shell (runtime/connection.cpp), the bench driver and the unit tests
// (tests/http/, on raw bytes) all drive this same state machine.
//
//   parser.receive(bytes)          or   space = parser.receive_space(); recv(space);
//                                       parser.commit_received(n);
//   parser.receive_eof()           when the peer closed its side
//   parser.next_event()            need_data | head | message | connection_closed
//   parser.take_message()          after `message`; the parser then reads the next message
//
// Bodies are collected whole (de-chunked) into Message::body: every consumer here wants the
// whole event or response. For a large Content-Length or chunk, receive_space() points into
// the body itself, so a 6 MB event is received straight into its final buffer.
// Malformed input throws RemoteProtocolError with a message that says what was wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/receive_buffer.h"

namespace lamina::http {

struct ParserLimits {
  std::size_t max_head_bytes = 64 * 1024;          // start line + fields; also the trailer section
  std::size_t max_body_bytes = 256 * 1024 * 1024;  // Content-Length or the sum of the chunks
};

enum class ParseEvent {
  need_data,          // feed more bytes (or the end of the stream)
  head,               // head() is complete; the body follows
  message,            // take_message() returns the complete message
  connection_closed,  // the peer closed the connection between messages
};

class MessageParser {
 public:
  explicit MessageParser(MessageKind kind, ParserLimits limits = {});

  // Copies `bytes` in.
  void receive(std::string_view bytes);
  // Zero-copy input: where the next received bytes should go. Only the bytes the current
  // message still expects are offered when they go straight into the body, so a read never
  // runs past the end of the message.
  ReceiveSpace receive_space();
  void commit_received(std::size_t count);
  // The peer will send nothing more.
  void receive_eof();

  // Parses as far as the received bytes allow. Throws RemoteProtocolError.
  ParseEvent next_event();

  const MessageHead& head() const { return message_.head; }
  // The complete message; the parser then starts on the next one with what is left over.
  Message take_message();

  // Some bytes of a message have arrived and the message is not complete yet: a connection
  // closed now lost part of an answer, not just an idle keep-alive connection.
  bool started_message() const {
    return (state_ != State::head && state_ != State::closed) || !buffer_.empty();
  }
  // Bytes received beyond the last complete message.
  std::size_t buffered_bytes() const { return buffer_.size(); }

 private:
  enum class State {
    head,
    fixed_body,
    chunk_size_line,
    chunk_data,
    chunk_data_end,
    trailers,
    body_until_close,
    complete,
    closed,
    failed,
  };

  [[noreturn]] void fail(std::string message);
  void parse_head(std::string_view head);
  void parse_start_line(std::string_view line);
  void parse_field_line(std::string_view line, Headers& into);
  void begin_body();
  std::uint64_t parse_content_length() const;
  void parse_chunk_size_line(std::string_view line);
  // Offset just past the empty line that ends a head or trailer section, or npos.
  std::size_t find_section_end();
  // Offset just past the next "\n" in the buffer, or npos.
  std::size_t find_line_end();
  // Moves buffered bytes into the body, at most `wanted`; returns how many.
  std::size_t move_buffered_into_body(std::size_t wanted);

  MessageKind kind_;
  ParserLimits limits_;
  State state_ = State::head;
  ReceiveBuffer buffer_;
  std::size_t scanned_ = 0;            // buffer bytes already searched for a line end
  std::size_t section_line_start_ = 0; // where the current line of a head or trailer section starts
  bool eof_ = false;
  bool space_is_body_ = false;         // the last receive_space() pointed into the body
  Message message_;
  std::uint64_t content_length_ = 0;   // fixed_body: the whole body
  std::uint64_t body_received_ = 0;    // bytes of message_.body filled so far
  std::uint64_t chunk_remaining_ = 0;  // chunk_data: bytes left in the current chunk
  std::string error_;                  // failed: the first error, thrown again on every call
};

}  // namespace lamina::http
