// _X_AMZN_TRACE_ID in the process environment, set from Lambda-Runtime-Trace-Id for each
// invocation and removed when the header is absent (../shared/spec/runtime.md section 1).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace lamina::runtime {

// glibc's setenv never frees the strings it replaces (it cannot know who still points at
// them), so setting a unique trace id per invocation grows the heap by ~140 bytes each time:
// 14 MB per 100,000 invocations. This variable owns the "NAME=value" string it gives to
// putenv, which stores the pointer without copying, and rewrites it in place.
class TraceIdVariable {
 public:
  TraceIdVariable() = default;
  TraceIdVariable(const TraceIdVariable&) = delete;
  TraceIdVariable& operator=(const TraceIdVariable&) = delete;
  ~TraceIdVariable();

  void set(std::string_view value);
  void remove();

 private:
  std::unique_ptr<char[]> entry_;  // "_X_AMZN_TRACE_ID=value\0", owned
  size_t capacity_ = 0;            // bytes entry_ can hold, terminator included
  bool in_environment_ = false;
};

}  // namespace lamina::runtime
