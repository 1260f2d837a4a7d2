// Shared by the API-form tests: the transport-parameterised server suite, a bounded wait for a
// condition another thread makes true, and small coroutine task types.
#pragma once

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <thread>

#include "server_suite.hpp"

namespace fetchpipe::api_test {

using conformance::kSlack;
using conformance::Runner;
using namespace std::chrono_literals;

// Polls `condition` until it holds or `limit` passes; true when it held. For outcomes with no
// callback left to signal them (a fetch whose awaiting coroutine is gone).
inline bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit = 30s * kSlack) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Starts at once; nobody awaits it; frees itself at the end.
struct DetachedTask {
  struct promise_type {
    DetachedTask get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

// Starts at once and owns its frame: destroying the task destroys the coroutine wherever it is
// suspended.
class OwnedTask {
 public:
  struct promise_type {
    OwnedTask get_return_object() { return OwnedTask(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
  explicit OwnedTask(std::coroutine_handle<promise_type> h) : handle_(h) {}
  OwnedTask(OwnedTask&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  OwnedTask& operator=(OwnedTask&&) = delete;
  ~OwnedTask() {
    if (handle_) handle_.destroy();
  }

 private:
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace fetchpipe::api_test
