// The driver's command line: what to serve, how to check it, how to run the runtime.
#pragma once

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lamina::bench {

struct DriverOptions {
  std::string payload_path;
  std::string content_type = "application/json";
  std::size_t count = 1000;
  std::size_t warmup = 0;
  std::size_t cold_starts = 0;  // > 0: the cold-start mode
  std::optional<std::string> expect_path;
  bool compare_json = true;  // false: byte for byte
  std::string function_name = "bench";
  int memory_mb = 1024;
  int function_timeout_s = 300;
  std::vector<std::string> extra_environment;  // KEY=VALUE
  double idle_timeout_s = 60;
  int stop_grace_ms = 1000;
  std::optional<std::string> runtime_output_path;
  bool json = false;
  std::vector<std::string> runtime_command;
};

inline constexpr const char* kUsage = R"(usage: runtime_api_driver --payload FILE [OPTIONS] -- RUNTIME_COMMAND [ARGS...]

Plays Lambda's side of the Runtime API (2018-06-01) as fast as it can, to measure a runtime.
Listens on 127.0.0.1 at a random port, starts RUNTIME_COMMAND itself with
AWS_LAMBDA_RUNTIME_API and the usual Lambda variables set, serves the payload to every `next`
with a unique request id and realistic headers, checks every response, stops the runtime
(SIGTERM to its process group, SIGKILL after --stop-grace-ms) and reports.

What to serve:
  --payload FILE          event body served to every invocation (required)
  --content-type TYPE     Content-Type of the event (default application/json)
  --count N               measured invocations (default 1000)
  --warmup W              invocations served before the measured ones, left out of the
                          figures (default 0)
  --cold-starts K         cold-start mode instead: start the runtime K times, serve one
                          invocation each, report the median/min/max of spawn -> response

Checking responses:
  --expect FILE           every /response must equal this body; /error posts always count
                          as errors. The first difference is printed.
  --compare json|bytes    json (default): equal after removing whitespace outside strings
                          from both, so compact and spaced encoders agree; bytes: exact

The runtime's environment (inherited, plus):
  --function-name NAME    AWS_LAMBDA_FUNCTION_NAME, in the ARN and log group (default bench)
  --memory-mb MB          AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 1024)
  --function-timeout S    Lambda-Runtime-Deadline-Ms is now + S seconds (default 300)
  --env KEY=VALUE         another variable for the runtime, repeatable
                          (e.g. --env _HANDLER=app.handler)
  Always set: AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME, _MEMORY_SIZE, _VERSION,
  AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME, AWS_LAMBDA_INITIALIZATION_TYPE,
  AWS_REGION, AWS_DEFAULT_REGION. LAMBDA_TASK_ROOT and the rest pass through when set.

Running the runtime:
  --timeout S             give up when the runtime sends nothing for S seconds (default 60)
  --stop-grace-ms MS      after the last invocation, SIGTERM; SIGKILL after MS (default 1000)
  --runtime-output FILE   the runtime's stdout and stderr (default: the driver's stderr, so
                          the driver's stdout carries only the report)

Output:
  --json                  print one JSON object instead of the text report
  -h, --help              this text

Report: cold start (spawn -> first response received, µs), invocations/s over the measured
invocations (first measured event sent -> last measured response received), latency p50/p99/
max (event sent -> response received, µs), errors, and the runtime's peak RSS (wait4's
ru_maxrss). JSON keys: mode, runtime, payload_bytes, warmup, count, completed, errors,
mismatches, error_posts, protocol_errors, first_error, cold_start_us, invocations_per_second,
latency_us {p50, p90, p99, max, mean}, peak_rss_kb, runtime_exit {status, code, signal},
outcome. In --cold-starts mode: mode, runtime, payload_bytes, runs, completed_runs, errors,
first_error, cold_start_us {median, min, max, all}, peak_rss_kb {median, max}, outcome.
outcome is one of ok, errors, runtime_exited, timed_out, interrupted, spawn_failed.

Exit status: 0 every invocation answered and checked without error; 1 errors, a runtime
that exited early or stalled; 2 bad usage.
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
inline long long parse_number(const char* option, const char* text, long long minimum) {
  char* end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value < minimum) {
    throw UsageError(std::string("--") + option + " needs a whole number >= " + std::to_string(minimum) + ", not '" +
                     text + "'");
  }
  return value;
}
}  // namespace detail

// Throws UsageError; prints the help and exits for --help.
inline DriverOptions parse_options(int argc, char** argv) {
  enum : int {
    payload = 1000, content_type, count, warmup, cold_starts, expect, compare, function_name, memory_mb,
    function_timeout, env, timeout, stop_grace_ms, runtime_output, json, help,
  };
  static const option long_options[] = {
      {"payload", required_argument, nullptr, payload},
      {"content-type", required_argument, nullptr, content_type},
      {"count", required_argument, nullptr, count},
      {"warmup", required_argument, nullptr, warmup},
      {"cold-starts", required_argument, nullptr, cold_starts},
      {"expect", required_argument, nullptr, expect},
      {"compare", required_argument, nullptr, compare},
      {"function-name", required_argument, nullptr, function_name},
      {"memory-mb", required_argument, nullptr, memory_mb},
      {"function-timeout", required_argument, nullptr, function_timeout},
      {"env", required_argument, nullptr, env},
      {"timeout", required_argument, nullptr, timeout},
      {"stop-grace-ms", required_argument, nullptr, stop_grace_ms},
      {"runtime-output", required_argument, nullptr, runtime_output},
      {"json", no_argument, nullptr, json},
      {"help", no_argument, nullptr, help},
      {nullptr, 0, nullptr, 0},
  };
  DriverOptions options;
  opterr = 0;
  int chosen;
  // '+': stop at the first non-option, so the runtime's own options are never taken as ours.
  while ((chosen = getopt_long(argc, argv, "+h", long_options, nullptr)) != -1) {
    const char* name = chosen >= payload && chosen <= help ? long_options[chosen - payload].name : "";
    switch (chosen) {
      case payload: options.payload_path = optarg; break;
      case content_type: options.content_type = optarg; break;
      case count: options.count = static_cast<std::size_t>(detail::parse_number(name, optarg, 1)); break;
      case warmup: options.warmup = static_cast<std::size_t>(detail::parse_number(name, optarg, 0)); break;
      case cold_starts: options.cold_starts = static_cast<std::size_t>(detail::parse_number(name, optarg, 1)); break;
      case expect: options.expect_path = optarg; break;
      case compare: {
        std::string mode = optarg;
        if (mode != "json" && mode != "bytes") throw UsageError("--compare is json or bytes, not '" + mode + "'");
        options.compare_json = mode == "json";
        break;
      }
      case function_name: options.function_name = optarg; break;
      case memory_mb: options.memory_mb = static_cast<int>(detail::parse_number(name, optarg, 1)); break;
      case function_timeout: options.function_timeout_s = static_cast<int>(detail::parse_number(name, optarg, 1)); break;
      case env: {
        std::string assignment = optarg;
        if (assignment.find('=') == std::string::npos || assignment.front() == '=') {
          throw UsageError("--env needs KEY=VALUE, not '" + assignment + "'");
        }
        options.extra_environment.push_back(assignment);
        break;
      }
      case timeout: {
        char* end = nullptr;
        options.idle_timeout_s = std::strtod(optarg, &end);
        if (end == optarg || *end != '\0' || options.idle_timeout_s <= 0) {
          throw UsageError(std::string("--timeout needs a number of seconds > 0, not '") + optarg + "'");
        }
        break;
      }
      case stop_grace_ms: options.stop_grace_ms = static_cast<int>(detail::parse_number(name, optarg, 0)); break;
      case runtime_output: options.runtime_output_path = optarg; break;
      case json: options.json = true; break;
      case 'h':
      case help:
        std::fputs(kUsage, stdout);
        std::exit(0);
      default:
        throw UsageError(std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  for (int index = optind; index < argc; ++index) options.runtime_command.emplace_back(argv[index]);
  if (options.payload_path.empty()) throw UsageError("--payload FILE is required");
  if (options.runtime_command.empty()) throw UsageError("no runtime command: put it after --");
  return options;
}

}  // namespace lamina::bench
