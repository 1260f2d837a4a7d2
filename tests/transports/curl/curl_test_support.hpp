// Test support for the curl transport suites: a recording observer that checks the call order,
// a request bundled with what must outlive its exchange, and bounded polling.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <sys/resource.h>

#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transport.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

namespace fetchpipe::curl_test {

using namespace std::chrono_literals;

inline constexpr auto kWait = 10s;

// How late a clock of the loop (deadline, stall, connect) may fire on a noisy machine; the loop
// itself is accurate to about a millisecond. Sanitizers slow everything down.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr auto kLateness = 1000ms;
#else
inline constexpr auto kLateness = 250ms;
#endif

// Records what the transport reports for one exchange and checks the call order as it goes.
class Recorder final : public ExchangeObserver {
 public:
  // Stop (return false from on_body) once this many bytes arrived.
  std::optional<std::size_t> stop_after_bytes;

  void on_head(ResponseHead head) override {
    std::lock_guard lock(mutex_);
    if (heads_ > 0 || chunks_ > 0 || completes_ > 0) order_ok_ = false;
    ++heads_;
    head_ = std::move(head);
  }
  bool on_body(std::string_view chunk) override {
    std::lock_guard lock(mutex_);
    if (heads_ != 1 || completes_ > 0) order_ok_ = false;
    ++chunks_;
    body_.append(chunk);
    return !(stop_after_bytes && body_.size() >= *stop_after_bytes);
  }
  void on_complete(ExchangeResult result) override {
    {
      std::lock_guard lock(mutex_);
      ++completes_;
      result_ = std::move(result);
      callback_thread_ = std::this_thread::get_id();
      completed_at_ = Clock::now();
    }
    if (completes_ == 1) done_.set_value();
  }

  // Waits for on_complete (bounded) and returns its result.
  ExchangeResult wait() {
    if (future_.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "on_complete did not run within " << kWait.count() << " s";
      return ExchangeResult{ErrorKind::internal_error, "test timeout"};
    }
    std::lock_guard lock(mutex_);
    return result_;
  }
  bool done_within(std::chrono::milliseconds limit) { return future_.wait_for(limit) == std::future_status::ready; }

  int completes() const { std::lock_guard lock(mutex_); return completes_; }
  int heads() const { std::lock_guard lock(mutex_); return heads_; }
  int chunks() const { std::lock_guard lock(mutex_); return chunks_; }
  bool order_ok() const { std::lock_guard lock(mutex_); return order_ok_; }
  ResponseHead head() const { std::lock_guard lock(mutex_); return head_; }
  std::string body() const { std::lock_guard lock(mutex_); return body_; }
  std::thread::id callback_thread() const { std::lock_guard lock(mutex_); return callback_thread_; }
  TimePoint completed_at() const { std::lock_guard lock(mutex_); return completed_at_; }

 private:
  mutable std::mutex mutex_;
  int heads_ = 0;
  int chunks_ = 0;
  int completes_ = 0;
  bool order_ok_ = true;
  ResponseHead head_;
  std::string body_;
  ExchangeResult result_;
  std::thread::id callback_thread_;
  TimePoint completed_at_;
  std::promise<void> done_;
  std::future<void> future_ = done_.get_future();
};

// A request with what must outlive its exchange (the spec points into it).
struct Call {
  Request request;
  TlsOptions tls;
  ExchangeSpec spec;
  std::shared_ptr<Recorder> recorder = std::make_shared<Recorder>();
  std::shared_ptr<Exchange> exchange;

  explicit Call(std::string url, std::chrono::milliseconds deadline = 10s) {
    request.url = std::move(url);
    spec.request = &request;
    spec.tls = &tls;
    spec.deadline = Clock::now() + deadline;
  }
  ExchangeResult run(Transport& transport) {
    exchange = transport.start(spec, recorder);
    return recorder->wait();
  }
};

inline std::string expected_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}


// Polls a condition the test cannot be notified of (a counter inside the server), bounded.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (predicate()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return predicate();
}

inline std::chrono::milliseconds ms_between(TimePoint a, TimePoint b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a);
}

// One fault server per suite and a transport per test.
class CurlTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The stress test holds thousands of sockets on both ends in this one process.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    server_ = new tools::FaultServer();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string url(const std::string& path) { return server_->url(path); }

  inline static tools::FaultServer* server_ = nullptr;
  CurlTransport transport_;
};


}  // namespace fetchpipe::curl_test
