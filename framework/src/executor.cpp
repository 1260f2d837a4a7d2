#include "fetchpipe/executor.hpp"

#include <stdexcept>

namespace fetchpipe {
namespace {

// The executors whose tasks this thread is running, innermost first: a task may run another
// executor's task (ManualExecutor::run_one inside a pool task), and blocking there would block
// both, so each counts as "here".
class RunningScope {
 public:
  explicit RunningScope(const Executor* e) noexcept : executor_(e), outer_(innermost) { innermost = this; }
  ~RunningScope() { innermost = outer_; }
  RunningScope(const RunningScope&) = delete;
  RunningScope& operator=(const RunningScope&) = delete;

  static bool running(const Executor* e) noexcept {
    for (const RunningScope* s = innermost; s != nullptr; s = s->outer_) {
      if (s->executor_ == e) return true;
    }
    return false;
  }

 private:
  static thread_local const RunningScope* innermost;
  const Executor* executor_;
  const RunningScope* outer_;
};

thread_local const RunningScope* RunningScope::innermost = nullptr;

}  // namespace

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("ThreadPoolExecutor: threads must be >= 1, got 0");
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPoolExecutor::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void ThreadPoolExecutor::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    {
      const RunningScope scope(this);
      task();
    }
    task = nullptr;  // release captures outside the lock
    lock.lock();
  }
}

void ManualExecutor::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(task));
}

bool ManualExecutor::run_one() {
  std::function<void()> task;
  {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return false;
    task = std::move(queue_.front());
    queue_.pop_front();
  }
  const RunningScope scope(this);
  task();
  return true;
}

std::size_t ManualExecutor::run_all(std::size_t limit) {
  std::size_t ran = 0;
  while (ran < limit && run_one()) ++ran;
  return ran;
}

bool ThreadPoolExecutor::running_here() const noexcept { return RunningScope::running(this); }

bool ManualExecutor::running_here() const noexcept { return RunningScope::running(this); }

std::size_t ManualExecutor::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace fetchpipe
