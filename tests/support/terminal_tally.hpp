// Test support: counts terminal callbacks per fetch across threads, and waits (bounded) for all.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "fetchpipe/callbacks.hpp"

namespace fetchpipe::testing {

struct TerminalTally {
  explicit TerminalTally(std::size_t n) : per_fetch(n) {}
  std::vector<std::atomic<int>> per_fetch;
  std::atomic<int> successes{0}, failures{0}, cancels{0};
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t ended = 0;
  // Set once the client is destroyed: a terminal callback after that is counted, never allowed.
  std::atomic<bool> client_gone{false};
  std::atomic<int> after_client_gone{0};

  // Callbacks for fetch number `i`.
  Callbacks callbacks(std::size_t i) {
    auto end = [this, i](std::atomic<int>& kind) {
      if (client_gone) after_client_gone.fetch_add(1);
      per_fetch[i].fetch_add(1);
      kind.fetch_add(1);
      std::lock_guard lock(mutex);
      ++ended;
      cv.notify_all();
    };
    return Callbacks{.on_success = [end, this](Response) { end(successes); },
                     .on_failure = [end, this](Error) { end(failures); },
                     .on_cancel = [end, this](Error) { end(cancels); }};
  }
  bool wait_all(std::chrono::seconds limit) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return ended == per_fetch.size(); });
  }
};

}  // namespace fetchpipe::testing
