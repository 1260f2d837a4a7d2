#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace fetchpipe::test {

std::vector<std::string> ChildResult::err_lines() const {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < err.size()) {
    auto end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    lines.push_back(err.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string ChildResult::last_err_line() const {
  const auto lines = err_lines();
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (!it->empty()) return *it;
  }
  return {};
}

ChildProcess::ChildProcess(std::vector<std::string> argv, ChildOptions options) : options_(std::move(options)) {
  // Everything the child needs is prepared before fork(): between fork and exec, a child of a
  // multi-threaded process may only make async-signal-safe calls.
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const char* cwd = options_.cwd.empty() ? nullptr : options_.cwd.c_str();
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  sigset_t none;
  sigemptyset(&none);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (cwd != nullptr && ::chdir(cwd) != 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void ChildProcess::send_signal(int signo) const {
  if (pid_ > 0) ::kill(pid_, signo);
}

bool ChildProcess::pump(std::chrono::milliseconds max_wait) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0 && options_.read_stdout) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return false;
  const int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(max_wait.count()));
  if (ready <= 0) return true;
  char buffer[65536];
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    const bool is_out = fds[i].fd == out_fd_;
    if (got <= 0) {
      ::close(fds[i].fd);
      (is_out ? out_fd_ : err_fd_) = -1;
      continue;
    }
    if (is_out) {
      result_.out_bytes += static_cast<std::size_t>(got);
      if (!options_.count_stdout_only) result_.out.append(buffer, static_cast<std::size_t>(got));
    } else {
      result_.err.append(buffer, static_cast<std::size_t>(got));
    }
  }
  return (options_.read_stdout && out_fd_ >= 0) || err_fd_ >= 0;
}

bool ChildProcess::read_until(const std::function<bool(const std::string&, const std::string&)>& done,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(result_.out, result_.err)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!pump(std::min(left, std::chrono::milliseconds{50}))) return done(result_.out, result_.err);
  }
  return true;
}

ChildResult ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result_.timed_out = true;
      ::kill(pid_, SIGKILL);
      break;
    }
    if (!pump(std::min(left, std::chrono::milliseconds{50}))) break;
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result_.ended = std::chrono::steady_clock::now();
  pid_ = -1;
  // Drain what a killed child left in the pipes.
  for (int round = 0; round < 1000 && pump(std::chrono::milliseconds{10}); ++round) {
  }
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
  result_.max_rss_kb = usage.ru_maxrss;
  return result_;
}

ChildResult run_child(std::vector<std::string> argv, std::chrono::milliseconds timeout, ChildOptions options) {
  ChildProcess child(std::move(argv), std::move(options));
  return child.wait(timeout);
}

}  // namespace fetchpipe::test
