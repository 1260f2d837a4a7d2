// An interruptible sleep: every wait a handler does (delay, hang, drip) goes through one of these,
// so stop() wakes them all at once instead of waiting for the longest sleeper.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace fetchpipe::tools::detail {

class StopSignal {
 public:
  // Waits until `deadline` or stop; returns false if stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return !cv_.wait_until(lock, deadline, [this] { return stopped_; });
  }

  // Waits for stop (a hang), bounded only by the server's life.
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return stopped_; });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

  [[nodiscard]] bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace fetchpipe::tools::detail
