#include "runtime/trace_id_variable.h"

#include <cstdlib>
#include <cstring>

namespace lamina::runtime {
namespace {

constexpr char kNameText[] = "_X_AMZN_TRACE_ID";
constexpr std::string_view kName = kNameText;

}  // namespace

TraceIdVariable::~TraceIdVariable() {
  // The environment must not keep pointing at the string this object frees.
  remove();
}

void TraceIdVariable::set(std::string_view value) {
  const size_t needed = kName.size() + 1 + value.size() + 1;
  if (needed > capacity_) {
    // Room for longer ids to come, so that the string is replaced rarely.
    const size_t capacity = needed * 2;
    auto entry = std::make_unique<char[]>(capacity);
    std::memcpy(entry.get(), kName.data(), kName.size());
    entry[kName.size()] = '=';
    std::memcpy(entry.get() + kName.size() + 1, value.data(), value.size());
    entry[needed - 1] = '\0';
    putenv(entry.get());  // the environment now points at the new string: the old one can go
    entry_ = std::move(entry);
    capacity_ = capacity;
    in_environment_ = true;
    return;
  }
  char* value_start = entry_.get() + kName.size() + 1;
  std::memcpy(value_start, value.data(), value.size());
  value_start[value.size()] = '\0';
  if (!in_environment_) {
    putenv(entry_.get());
    in_environment_ = true;
  }
}

void TraceIdVariable::remove() {
  // Also clears a value set by other code (os.environ, a previous runtime in this process).
  unsetenv(kNameText);
  in_environment_ = false;
}

}  // namespace lamina::runtime
