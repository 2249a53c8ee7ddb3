// Figures from the recorded timings, and the two report formats (text for people, one JSON
// object for the bench script).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

#include "json_text.h"

namespace lamina::bench {

struct LatencySummary {
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
  double mean_us = 0;
};

// Nearest-rank percentiles: every figure is a latency that was measured.
inline LatencySummary summarize_latencies(std::vector<std::int64_t> nanoseconds) {
  LatencySummary summary;
  if (nanoseconds.empty()) return summary;
  std::sort(nanoseconds.begin(), nanoseconds.end());
  auto percentile = [&](double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(nanoseconds.size())));
    return static_cast<double>(nanoseconds[std::max<std::size_t>(rank, 1) - 1]) / 1000.0;
  };
  summary.p50_us = percentile(50);
  summary.p90_us = percentile(90);
  summary.p99_us = percentile(99);
  summary.max_us = static_cast<double>(nanoseconds.back()) / 1000.0;
  double total = 0;
  for (std::int64_t value : nanoseconds) total += static_cast<double>(value);
  summary.mean_us = total / static_cast<double>(nanoseconds.size()) / 1000.0;
  return summary;
}

template <typename Number>
double median_of(std::vector<Number> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return static_cast<double>(values[middle]);
  return (static_cast<double>(values[middle - 1]) + static_cast<double>(values[middle])) / 2.0;
}

// Builds one JSON object, keys in the order they are added.
class JsonObject {
 public:
  JsonObject& raw(const std::string& key, const std::string& json_value) {
    text_ += (text_.empty() ? "{" : ", ") + json_string(key) + ": " + json_value;
    return *this;
  }
  JsonObject& string(const std::string& key, const std::string& value) { return raw(key, json_string(value)); }
  JsonObject& number(const std::string& key, double value) { return raw(key, json_number(value)); }
  JsonObject& integer(const std::string& key, long long value) { return raw(key, std::to_string(value)); }
  JsonObject& null(const std::string& key) { return raw(key, "null"); }
  JsonObject& string_or_null(const std::string& key, const std::string& value) {
    return value.empty() ? null(key) : string(key, value);
  }
  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  std::string text_;
};

inline std::string json_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_string(items[i]);
  return out + "]";
}

template <typename Number>
std::string json_number_array(const std::vector<Number>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_number(static_cast<double>(items[i]));
  return out + "]";
}

// 1234567.8 -> "1,234,568": big figures people read at a glance.
inline std::string grouped(double value) {
  std::string digits = std::to_string(std::llabs(std::llround(value)));
  std::string out = value < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace lamina::bench
