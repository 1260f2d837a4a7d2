// fetchpipe/executor.hpp — where callbacks run.
//
// An Executor runs posted tasks. The client posts every user callback (chunks, attempts, the
// terminal callback) to its callback executor. Three are provided:
//   - InlineExecutor: runs the task on the posting thread at once. For benchmarks and
//     single-threaded tests; the client still never runs a terminal callback inside fetch() or
//     cancel() (it defers those through its Scheduler first).
//   - ThreadPoolExecutor: N worker threads and a FIFO queue; the destructor runs what is queued
//     and joins.
//   - ManualExecutor: queues tasks until the test runs them; deterministic.
//
// Example:
//   auto pool = std::make_shared<fetchpipe::ThreadPoolExecutor>(2);
//   pool->post([] { std::puts("on a worker"); });
//   fetchpipe::ClientOptions options;
//   options.callback_executor = pool;  // the client's callbacks now run on these two threads
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fetchpipe {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` some time later (or at once, for InlineExecutor). Thread-safe. May throw (e.g.
  // std::bad_alloc, or a user executor that refuses work); the client reports such a failure
  // through its callback-exception hook.
  virtual void post(std::function<void()> task) = 0;
  // True when post() may run the task before returning. The client then defers callbacks it
  // must not run inside fetch() or cancel() through its Scheduler first.
  [[nodiscard]] virtual bool runs_inline() const noexcept { return false; }
  // True when the calling thread is running one of this executor's tasks right now. Blocking
  // helpers (fetch_sync) use it to refuse a wait that would need this very thread to end. An
  // executor that cannot tell returns false (the default).
  [[nodiscard]] virtual bool running_here() const noexcept { return false; }
};

class InlineExecutor final : public Executor {
 public:
  void post(std::function<void()> task) override { task(); }
  [[nodiscard]] bool runs_inline() const noexcept override { return true; }
};

class ThreadPoolExecutor final : public Executor {
 public:
  // `threads` must be at least 1 (std::invalid_argument otherwise).
  explicit ThreadPoolExecutor(std::size_t threads);
  ~ThreadPoolExecutor() override;  // runs every queued task, then joins
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  void post(std::function<void()> task) override;
  [[nodiscard]] bool running_here() const noexcept override;

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class ManualExecutor final : public Executor {
 public:
  void post(std::function<void()> task) override;
  // Runs the oldest queued task; false when none was queued.
  bool run_one();
  // Runs tasks, including ones posted meanwhile, until none is left or `limit` ran. Returns how
  // many ran.
  std::size_t run_all(std::size_t limit = 1'000'000);
  [[nodiscard]] std::size_t pending() const;
  [[nodiscard]] bool running_here() const noexcept override;

 private:
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace fetchpipe
