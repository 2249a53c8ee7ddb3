// runtime_api_driver: plays Lambda's side of the Runtime API to measure a runtime. It starts
// the runtime itself, serves a payload as fast as the runtime asks for it, checks every
// response and reports throughput, latency, cold start and peak RSS. `--help` for the CLI.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "json_text.h"
#include "options.h"
#include "report.h"
#include "runtime_api_server.h"
#include "runtime_process.h"

namespace {

using namespace lamina::bench;

std::string read_file(const std::string& path, const char* what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw UsageError(std::string("cannot read the ") + what + " file '" + path + "'");
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::string describe_exit(const std::optional<ProcessExit>& exit) {
  if (!exit) return "still running";
  if (exit->signaled) return std::string("killed by ") + (exit->signal == SIGTERM ? "SIGTERM" : exit->signal == SIGKILL ? "SIGKILL" : "signal " + std::to_string(exit->signal));
  return "exited with status " + std::to_string(exit->code);
}

std::string exit_json(const std::optional<ProcessExit>& exit) {
  JsonObject object;
  if (!exit) return object.string("status", "running").null("code").null("signal").str();
  object.string("status", exit->signaled ? "signaled" : "exited");
  if (exit->signaled) {
    object.null("code").integer("signal", exit->signal);
  } else {
    object.integer("code", exit->code).null("signal");
  }
  return object.str();
}

std::string outcome_of(ServeEnd end, const ServeRecord& record) {
  switch (end) {
    case ServeEnd::all_answered: return record.errors() == 0 ? "ok" : "errors";
    case ServeEnd::runtime_exited: return "runtime_exited";
    case ServeEnd::timed_out: return "timed_out";
    case ServeEnd::interrupted: return "interrupted";
  }
  return "errors";
}

// Why a run ended early, in words, when the errors do not already say it.
std::string explain_end(ServeEnd end, const ServeRecord& record, std::size_t total,
                        const std::optional<ProcessExit>& exit, const DriverOptions& options) {
  std::string answered = " after " + std::to_string(record.answered) + " of " + std::to_string(total) + " invocations";
  switch (end) {
    case ServeEnd::runtime_exited: return "the runtime " + describe_exit(exit) + answered;
    case ServeEnd::timed_out: {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", options.idle_timeout_s);
      return std::string("the runtime sent nothing for ") + seconds + " s (--timeout)" + answered;
    }
    case ServeEnd::interrupted: return "interrupted" + answered;
    case ServeEnd::all_answered: return "";
  }
  return "";
}

void on_stop_signal(int) { stop_requested = 1; }

struct Setup {
  const DriverOptions& options;
  RuntimeApiServer& server;
  std::vector<std::string> environment;
  int output_fd;
  std::size_t payload_bytes;
};

int run_throughput(const Setup& setup) {
  const DriverOptions& options = setup.options;
  std::size_t total = options.warmup + options.count;
  ServeRecord record;
  JsonObject report;
  report.string("mode", "throughput").raw("runtime", json_string_array(options.runtime_command));
  report.integer("payload_bytes", static_cast<long long>(setup.payload_bytes));
  report.integer("warmup", static_cast<long long>(options.warmup)).integer("count", static_cast<long long>(options.count));

  Clock::time_point spawned_at = Clock::now();
  std::optional<RuntimeProcess> runtime;
  try {
    runtime.emplace(options.runtime_command, setup.environment, setup.output_fd);
  } catch (const SpawnError& error) {
    if (options.json) {
      std::puts(report.integer("completed", 0).integer("errors", 1).string("first_error", error.what())
                    .string("outcome", "spawn_failed").str().c_str());
    } else {
      std::fprintf(stderr, "runtime_api_driver: %s\n", error.what());
    }
    return 1;
  }
  ServeEnd end = setup.server.serve(*runtime, total, options.warmup,
                                    std::chrono::milliseconds(static_cast<long long>(options.idle_timeout_s * 1000)), record);
  ProcessExit exit = runtime->stop(std::chrono::milliseconds(options.stop_grace_ms));

  std::string problem = record.first_error.empty() ? explain_end(end, record, total, exit, options) : record.first_error;
  std::size_t errors = record.errors() + (end == ServeEnd::all_answered ? 0 : 1);
  LatencySummary latency = summarize_latencies(record.latencies_ns);
  double window_s = std::chrono::duration<double>(record.measured_end - record.measured_start).count();
  double per_second = record.measured_answered > 0 && window_s > 0 ? record.measured_answered / window_s : 0;
  std::optional<double> cold_start_us;
  if (record.first_answer_at) {
    cold_start_us = std::chrono::duration<double, std::micro>(*record.first_answer_at - spawned_at).count();
  }
  std::string outcome = outcome_of(end, record);

  if (options.json) {
    report.integer("completed", static_cast<long long>(record.measured_answered))
        .integer("errors", static_cast<long long>(errors))
        .integer("mismatches", static_cast<long long>(record.mismatches))
        .integer("error_posts", static_cast<long long>(record.error_posts))
        .integer("protocol_errors", static_cast<long long>(record.protocol_errors))
        .string_or_null("first_error", problem);
    if (cold_start_us) {
      report.number("cold_start_us", *cold_start_us);
    } else {
      report.null("cold_start_us");
    }
    report.number("invocations_per_second", per_second);
    report.raw("latency_us", JsonObject()
                                 .number("p50", latency.p50_us)
                                 .number("p90", latency.p90_us)
                                 .number("p99", latency.p99_us)
                                 .number("max", latency.max_us)
                                 .number("mean", latency.mean_us)
                                 .str());
    report.integer("peak_rss_kb", exit.peak_rss_kb).raw("runtime_exit", exit_json(exit)).string("outcome", outcome);
    std::puts(report.str().c_str());
  } else {
    std::printf("runtime        %s\n", join(options.runtime_command).c_str());
    std::printf("payload        %zu bytes\n", setup.payload_bytes);
    std::printf("invocations    %zu measured of %zu (+%zu warmup), %zu errors\n", record.measured_answered, options.count,
                options.warmup, errors);
    std::printf("throughput     %s invocations/s\n", grouped(per_second).c_str());
    std::printf("latency        p50 %.1f µs   p90 %.1f µs   p99 %.1f µs   max %.1f µs\n", latency.p50_us, latency.p90_us,
                latency.p99_us, latency.max_us);
    if (cold_start_us) std::printf("cold start     %s µs\n", grouped(*cold_start_us).c_str());
    std::printf("peak RSS       %s KB\n", grouped(static_cast<double>(exit.peak_rss_kb)).c_str());
    std::printf("runtime exit   %s\n", describe_exit(exit).c_str());
    if (!problem.empty()) std::printf("first error    %s\n", problem.c_str());
    std::printf("outcome        %s\n", outcome.c_str());
  }
  return outcome == "ok" ? 0 : 1;
}

int run_cold_starts(const Setup& setup) {
  const DriverOptions& options = setup.options;
  std::vector<double> cold_starts_us;
  std::vector<long> peak_rss_kb;
  std::string problem;
  std::string outcome = "ok";
  std::size_t errors = 0;
  for (std::size_t run = 0; run < options.cold_starts && outcome == "ok"; ++run) {
    ServeRecord record;
    Clock::time_point spawned_at = Clock::now();
    std::optional<RuntimeProcess> runtime;
    try {
      runtime.emplace(options.runtime_command, setup.environment, setup.output_fd);
    } catch (const SpawnError& error) {
      problem = error.what();
      outcome = "spawn_failed";
      ++errors;
      break;
    }
    ServeEnd end = setup.server.serve(*runtime, 1, 0,
                                      std::chrono::milliseconds(static_cast<long long>(options.idle_timeout_s * 1000)), record);
    ProcessExit exit = runtime->stop(std::chrono::milliseconds(options.stop_grace_ms));
    setup.server.drop_connections();
    errors += record.errors() + (end == ServeEnd::all_answered ? 0 : 1);
    if (problem.empty()) problem = record.first_error.empty() ? explain_end(end, record, 1, exit, options) : record.first_error;
    outcome = outcome_of(end, record);
    if (record.first_answer_at) {
      cold_starts_us.push_back(std::chrono::duration<double, std::micro>(*record.first_answer_at - spawned_at).count());
      peak_rss_kb.push_back(exit.peak_rss_kb);
    }
  }
  double minimum = cold_starts_us.empty() ? 0 : *std::min_element(cold_starts_us.begin(), cold_starts_us.end());
  double maximum = cold_starts_us.empty() ? 0 : *std::max_element(cold_starts_us.begin(), cold_starts_us.end());
  double median = median_of(cold_starts_us);
  long rss_max = peak_rss_kb.empty() ? 0 : *std::max_element(peak_rss_kb.begin(), peak_rss_kb.end());
  if (options.json) {
    JsonObject report;
    report.string("mode", "cold_starts").raw("runtime", json_string_array(options.runtime_command));
    report.integer("payload_bytes", static_cast<long long>(setup.payload_bytes))
        .integer("runs", static_cast<long long>(options.cold_starts))
        .integer("completed_runs", static_cast<long long>(cold_starts_us.size()))
        .integer("errors", static_cast<long long>(errors))
        .string_or_null("first_error", problem);
    report.raw("cold_start_us", JsonObject()
                                    .number("median", median)
                                    .number("min", minimum)
                                    .number("max", maximum)
                                    .raw("all", json_number_array(cold_starts_us))
                                    .str());
    report.raw("peak_rss_kb", JsonObject().number("median", median_of(peak_rss_kb)).integer("max", rss_max).str());
    report.string("outcome", outcome);
    std::puts(report.str().c_str());
  } else {
    std::printf("runtime        %s\n", join(options.runtime_command).c_str());
    std::printf("cold starts    %zu of %zu runs answered, %zu errors\n", cold_starts_us.size(), options.cold_starts, errors);
    std::printf("spawn->answer  median %s µs   min %s µs   max %s µs\n", grouped(median).c_str(), grouped(minimum).c_str(),
                grouped(maximum).c_str());
    std::printf("peak RSS       median %s KB   max %s KB\n", grouped(median_of(peak_rss_kb)).c_str(),
                grouped(static_cast<double>(rss_max)).c_str());
    if (!problem.empty()) std::printf("first error    %s\n", problem.c_str());
    std::printf("outcome        %s\n", outcome.c_str());
  }
  return outcome == "ok" && errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  DriverOptions options;
  std::string payload;
  ResponseCheck check;
  try {
    options = parse_options(argc, argv);
    payload = read_file(options.payload_path, "--payload");
    if (options.expect_path) {
      std::string expected = read_file(*options.expect_path, "--expect");
      check.enabled = true;
      check.ignore_json_whitespace = options.compare_json;
      if (options.compare_json) {
        append_without_json_whitespace(check.expected, expected);
      } else {
        check.expected = expected;
      }
      check.expected_as_given = std::move(expected);
    }
  } catch (const UsageError& error) {
    std::fprintf(stderr, "runtime_api_driver: %s (see --help)\n", error.what());
    return 2;
  }

  ::signal(SIGPIPE, SIG_IGN);  // a runtime that goes away shows up as EPIPE on the next send
  struct sigaction stop {};
  stop.sa_handler = on_stop_signal;  // no SA_RESTART: poll returns EINTR and the loop stops
  sigaction(SIGINT, &stop, nullptr);
  sigaction(SIGTERM, &stop, nullptr);

  FileDescriptor output_file;
  int output_fd = STDERR_FILENO;
  if (options.runtime_output_path) {
    output_file = FileDescriptor(::open(options.runtime_output_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!output_file.valid()) {
      std::fprintf(stderr, "runtime_api_driver: cannot write '%s': %s\n", options.runtime_output_path->c_str(),
                   std::strerror(errno));
      return 2;
    }
    output_fd = output_file.get();
  }

  EventTemplate event{std::move(payload), options.content_type,
                      "arn:aws:lambda:us-east-1:123456789012:function:" + options.function_name,
                      options.function_timeout_s};
  std::size_t payload_bytes = event.payload.size();
  try {
    RuntimeApiServer server(std::move(event), std::move(check));
    std::random_device random;
    char log_stream[80];
    std::snprintf(log_stream, sizeof log_stream, "2025/01/01/[$LATEST]%08x%08x%08x%08x", random(), random(), random(),
                  random());
    Setup setup{options, server,
                lambda_environment("127.0.0.1:" + std::to_string(server.port()), options.function_name, options.memory_mb,
                                   log_stream, options.extra_environment),
                output_fd, payload_bytes};
    return options.cold_starts > 0 ? run_cold_starts(setup) : run_throughput(setup);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "runtime_api_driver: %s\n", error.what());
    return 1;
  }
}
