// The bytes received and not parsed yet. Unlike a std::string, handing out writable room at
// the end costs nothing: a recv() goes straight into it without zero-filling first.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace lamina::http {

struct ReceiveSpace {
  char* data;
  std::size_t size;
};

class ReceiveBuffer {
 public:
  std::string_view contents() const { return {storage_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

  // Drops `count` parsed bytes from the front.
  void consume(std::size_t count);
  // Writable room right after the contents, at least `min_free` bytes.
  ReceiveSpace prepare(std::size_t min_free);
  // The first `count` bytes of the last prepared room now hold received data.
  void commit(std::size_t count) { end_ += count; }
  void append(std::string_view bytes);

 private:
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace lamina::http
