// child_process.hpp — runs a program with captured stdout/stderr, bounded waits, and its rusage.
//
//   ChildProcess child({FETCHPIPE_CLI_PATH, "get", url});
//   auto result = child.wait(10s);          // kills the child if it overruns
//   EXPECT_EQ(result.exit_code, 0);
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fetchpipe::test {

struct ChildOptions {
  std::string cwd{};            // "" = the test's own
  bool count_stdout_only = false;  // big bodies: count the bytes, keep none
  bool read_stdout = true;         // false: never read stdout, so the child blocks once the pipe is full
};

struct ChildResult {
  int exit_code = -1;   // -1 when killed by a signal
  int term_signal = 0;  // the signal that killed it, if any
  bool timed_out = false;
  std::string out;
  std::string err;
  std::size_t out_bytes = 0;
  long max_rss_kb = 0;
  std::chrono::steady_clock::time_point ended{};

  // The last non-empty line of stderr.
  [[nodiscard]] std::string last_err_line() const;
  // The stderr lines, without their newlines.
  [[nodiscard]] std::vector<std::string> err_lines() const;
};

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv, ChildOptions options = {});
  ~ChildProcess();  // kills and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void send_signal(int signo) const;
  // Reads output until `done(out, err)` holds, the output ends, or `timeout`. True if it held.
  bool read_until(const std::function<bool(const std::string&, const std::string&)>& done,
                  std::chrono::milliseconds timeout);
  // Reads everything and reaps the child; kills it (SIGKILL) after `timeout`.
  ChildResult wait(std::chrono::milliseconds timeout);

 private:
  // One poll round; false once both pipes are closed.
  bool pump(std::chrono::milliseconds max_wait);

  ChildOptions options_;
  int pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  ChildResult result_{};
};

// Runs to completion (see ChildProcess::wait).
ChildResult run_child(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds{30},
                      ChildOptions options = {});

}  // namespace fetchpipe::test
