#include "signals.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

namespace fetchpipe::cli {
namespace {

// The pipe the handler writes to; -1 when no watcher exists.
std::atomic<int> g_signal_pipe{-1};

// Byte 0 on the pipe means "stop watching" (no signal has number 0).
constexpr unsigned char kStopByte = 0;

extern "C" void on_signal_handler(int signo) {
  const int saved_errno = errno;
  const int fd = g_signal_pipe.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const auto byte = static_cast<unsigned char>(signo);
    // Non-blocking: if the pipe were ever full, dropping a repeated ^C is harmless.
    [[maybe_unused]] const auto n = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("signal watcher: pipe2 failed");
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  ::fcntl(write_fd_, F_SETFL, O_NONBLOCK);
  g_signal_pipe.store(write_fd_);

  struct sigaction action {};
  action.sa_handler = on_signal_handler;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a write to stdout interrupted by ^C resumes; the cancel arrives through the pipe.
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &old_int_);
  ::sigaction(SIGTERM, &action, &old_term_);
  thread_ = std::thread([this] { run(); });
}

SignalWatcher::~SignalWatcher() {
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
  g_signal_pipe.store(-1);
  const unsigned char stop = kStopByte;
  while (::write(write_fd_, &stop, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  ::close(read_fd_);
  ::close(write_fd_);
}

void SignalWatcher::run() {
  while (true) {
    unsigned char byte = 0;
    const ssize_t n = ::read(read_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == kStopByte) return;
    on_signal_(static_cast<int>(byte));
  }
}

const char* signal_name(int signo) noexcept {
  switch (signo) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

}  // namespace fetchpipe::cli
