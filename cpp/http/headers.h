// An ordered list of header fields with case-insensitive lookup. Names and values are kept
// in one contiguous string so a parsed head costs two allocations, not two per field: the
// Runtime API sends about ten fields with every event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamina::http {

struct HeaderField {
  std::string_view name;   // as received or given; compare with syntax::equals_ignore_case
  std::string_view value;  // without surrounding whitespace
};

class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

  // Appends a field; duplicates are kept in order (Set-Cookie, lists split over lines).
  void add(std::string_view name, std::string_view value);
  void clear();

  // The first field called `name` (any case), or nothing.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every field called `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  HeaderField operator[](std::size_t index) const;

  class const_iterator {
   public:
    const_iterator(const Headers* headers, std::size_t index) : headers_(headers), index_(index) {}
    HeaderField operator*() const { return (*headers_)[index_]; }
    const_iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const const_iterator& other) const { return index_ != other.index_; }
    bool operator==(const const_iterator& other) const { return index_ == other.index_; }

   private:
    const Headers* headers_;
    std::size_t index_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, fields_.size()}; }

 private:
  struct FieldSpan {
    uint32_t name_offset;
    uint32_t name_size;
    uint32_t value_offset;
    uint32_t value_size;
  };
  std::string storage_;
  std::vector<FieldSpan> fields_;
};

}  // namespace lamina::http
