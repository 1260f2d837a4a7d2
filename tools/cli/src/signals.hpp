// signals.hpp — SIGINT and SIGTERM turned into an ordinary function call on an ordinary thread.
//
// The handler only writes the signal number into a self-pipe (write(2) is async-signal-safe);
// a watcher thread reads it and calls `on_signal`, where taking locks, cancelling a fetch or
// printing is fine. Hence no real work ever happens inside a signal handler.
//
//   SignalWatcher watcher([&](int signo) { handle.cancel(); });
//
// One watcher at a time per process (the handler has one pipe to write to).
#pragma once

#include <signal.h>

#include <functional>
#include <thread>

namespace fetchpipe::cli {

class SignalWatcher {
 public:
  // Installs the handlers and starts the thread. `on_signal` runs on that thread, once per signal
  // delivered (a second ^C is a second call).
  explicit SignalWatcher(std::function<void(int)> on_signal);
  // Restores the previous handlers and joins the thread.
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void run();

  std::function<void(int)> on_signal_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::thread thread_;
};

[[nodiscard]] const char* signal_name(int signo) noexcept;

}  // namespace fetchpipe::cli
