#include "http/headers.h"

#include "http/syntax.h"

namespace lamina::http {

Headers::Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  for (const auto& [name, value] : fields) add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) {
  FieldSpan span{static_cast<uint32_t>(storage_.size()), static_cast<uint32_t>(name.size()),
                 static_cast<uint32_t>(storage_.size() + name.size()), static_cast<uint32_t>(value.size())};
  storage_.append(name);
  storage_.append(value);
  fields_.push_back(span);
}

void Headers::clear() {
  storage_.clear();
  fields_.clear();
}

HeaderField Headers::operator[](std::size_t index) const {
  const FieldSpan& span = fields_[index];
  std::string_view all = storage_;
  return {all.substr(span.name_offset, span.name_size), all.substr(span.value_offset, span.value_size)};
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (HeaderField field : *this) {
    if (syntax::equals_ignore_case(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (HeaderField field : *this) {
    if (syntax::equals_ignore_case(field.name, name)) values.push_back(field.value);
  }
  return values;
}

}  // namespace lamina::http
