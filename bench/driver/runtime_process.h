// The runtime under test as a child process: spawned in its own process group with the
// Lambda environment, watched for an early exit, stopped like Lambda stops it (SIGTERM, then
// SIGKILL), and reaped with wait4 for its peak RSS.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/connection.h"

extern char** environ;

namespace lamina::bench {

using runtime::FileDescriptor;

struct ProcessExit {
  bool signaled = false;
  int code = 0;    // exit status when !signaled
  int signal = 0;  // terminating signal when signaled
  long peak_rss_kb = 0;
};

class SpawnError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RuntimeProcess {
 public:
  // Starts `command` with `environment` (KEY=VALUE). Its stdout and stderr go to `output_fd`.
  RuntimeProcess(const std::vector<std::string>& command, const std::vector<std::string>& environment, int output_fd) {
    std::vector<char*> arguments;
    for (const std::string& argument : command) arguments.push_back(const_cast<char*>(argument.c_str()));
    arguments.push_back(nullptr);
    std::vector<char*> variables;
    for (const std::string& variable : environment) variables.push_back(const_cast<char*>(variable.c_str()));
    variables.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, output_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output_fd, STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group: stopping it reaches whatever it started (a shell wrapper's child).
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    int error = posix_spawnp(&pid_, arguments[0], &actions, &attributes, arguments.data(), variables.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) throw SpawnError("cannot start '" + command.front() + "': " + std::strerror(error));
    // A pidfd becomes readable when the process exits, so the serve loop's poll wakes at once.
    exit_fd_ = FileDescriptor(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  }

  ~RuntimeProcess() {
    if (!exit_) {
      ::kill(-pid_, SIGKILL);
      reap(true);
    }
  }
  RuntimeProcess(const RuntimeProcess&) = delete;
  RuntimeProcess& operator=(const RuntimeProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Readable once the process exited; -1 where pidfd_open is missing (poll with a timeout then).
  int exit_fd() const { return exit_fd_.get(); }
  const std::optional<ProcessExit>& exit() const { return exit_; }

  // Whether it has exited; reaps it if so.
  bool has_exited() {
    if (!exit_) reap(false);
    return exit_.has_value();
  }

  // SIGTERM to the process group, SIGKILL after `grace`; returns how it ended.
  ProcessExit stop(std::chrono::milliseconds grace) {
    if (has_exited()) return *exit_;
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!has_exited()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(-pid_, SIGKILL);
        reap(true);
        break;
      }
      if (exit_fd_.valid()) {
        pollfd exiting{exit_fd_.get(), POLLIN, 0};
        ::poll(&exiting, 1, static_cast<int>(left.count()));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return *exit_;
  }

 private:
  void reap(bool block) {
    // Look first without reaping: while the zombie stays, its pid (our process group id)
    // cannot be reused, so killing what the runtime left in its group cannot hit a stranger.
    siginfo_t info{};
    int looked;
    do {
      looked = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    } while (looked < 0 && errno == EINTR);
    if (looked < 0 || info.si_pid != pid_) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    rusage usage{};
    while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    ProcessExit result;
    result.signaled = WIFSIGNALED(status);
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result.peak_rss_kb = usage.ru_maxrss;  // kilobytes on Linux
    exit_ = result;
  }

  pid_t pid_ = -1;
  FileDescriptor exit_fd_;
  std::optional<ProcessExit> exit_;
};

// The environment Lambda gives a runtime, over the driver's own (so LAMBDA_TASK_ROOT, PATH,
// PYTHONPATH... pass through); `extra` (KEY=VALUE) comes last and wins.
inline std::vector<std::string> lambda_environment(const std::string& runtime_api, const std::string& function_name,
                                                   int memory_mb, const std::string& log_stream,
                                                   const std::vector<std::string>& extra) {
  std::vector<std::string> ours = {
      "AWS_LAMBDA_RUNTIME_API=" + runtime_api,
      "AWS_LAMBDA_FUNCTION_NAME=" + function_name,
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(memory_mb),
      "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
      "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + function_name,
      "AWS_LAMBDA_LOG_STREAM_NAME=" + log_stream,
      "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
      "AWS_REGION=us-east-1",
      "AWS_DEFAULT_REGION=us-east-1",
  };
  ours.insert(ours.end(), extra.begin(), extra.end());
  auto key_of = [](const std::string& variable) { return variable.substr(0, variable.find('=')); };
  std::vector<std::string> environment;
  for (char** inherited = environ; *inherited != nullptr; ++inherited) {
    std::string variable = *inherited;
    bool overridden = false;
    for (const std::string& set : ours) overridden = overridden || key_of(set) == key_of(variable);
    if (!overridden) environment.push_back(variable);
  }
  for (const std::string& set : ours) {
    bool later = false;  // an --env repeating one of ours: only the last one counts
    for (const std::string& other : ours) later = later || (&other > &set && key_of(other) == key_of(set));
    if (!later) environment.push_back(set);
  }
  return environment;
}

}  // namespace lamina::bench
