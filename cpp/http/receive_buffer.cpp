#include "http/receive_buffer.h"

#include <algorithm>
#include <cstring>

namespace lamina::http {

void ReceiveBuffer::consume(std::size_t count) {
  begin_ += count;
  if (begin_ == end_) begin_ = end_ = 0;  // the common case: everything parsed, start over at 0
}

ReceiveSpace ReceiveBuffer::prepare(std::size_t min_free) {
  if (capacity_ - end_ < min_free && begin_ > 0) {
    std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < min_free) {
    std::size_t grown = std::max(capacity_ * 2, end_ + min_free);
    auto bigger = std::make_unique<char[]>(grown);
    if (end_ > 0) std::memcpy(bigger.get(), storage_.get(), end_);
    storage_ = std::move(bigger);
    capacity_ = grown;
  }
  return {storage_.get() + end_, capacity_ - end_};
}

void ReceiveBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  ReceiveSpace space = prepare(bytes.size());
  std::memcpy(space.data, bytes.data(), bytes.size());
  commit(bytes.size());
}

}  // namespace lamina::http
