// A test ExchangeObserver that records everything and lets a test wait for on_complete without
// sleeping. It owns the Request, which must stay valid until on_complete returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::testing {

class RecordingObserver final : public ExchangeObserver {
 public:
  explicit RecordingObserver(Request request) : request_(std::move(request)) {}

  [[nodiscard]] const Request& request() const { return request_; }

  // on_body returns false once this many bytes have arrived (0: never).
  void stop_after_bytes(std::size_t n) { stop_after_ = n; }
  // on_body throws std::runtime_error on the first chunk.
  void throw_in_body() { throw_in_body_ = true; }

  void on_head(ResponseHead head) override {
    std::lock_guard lock(mutex_);
    ++heads_;
    if (body_chunks_ > 0 || completions_ > 0) order_ok_ = false;
    head_ = std::move(head);
  }

  bool on_body(std::string_view chunk) override {
    std::lock_guard lock(mutex_);
    if (heads_ != 1 || completions_ > 0) order_ok_ = false;
    if (throw_in_body_) throw std::runtime_error("observer failure for the test");
    ++body_chunks_;
    body_.append(chunk);
    return stop_after_ == 0 || body_.size() < stop_after_;
  }

  void on_complete(ExchangeResult result) override {
    {
      std::lock_guard lock(mutex_);
      ++completions_;
      completed_at_ = std::chrono::steady_clock::now();
      result_ = std::move(result);
    }
    done_.notify_all();
  }

  // Waits for on_complete; false if it did not come within `limit`.
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds{10}) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, limit, [&] { return completions_ > 0; });
  }

  [[nodiscard]] ExchangeResult result() const {
    std::lock_guard lock(mutex_);
    return result_.value_or(ExchangeResult{.error = ErrorKind::internal_error, .message = "none"});
  }
  [[nodiscard]] std::optional<ErrorKind> error() const { return result().error; }
  [[nodiscard]] int completions() const {
    std::lock_guard lock(mutex_);
    return completions_;
  }
  [[nodiscard]] std::chrono::steady_clock::time_point completed_at() const {
    std::lock_guard lock(mutex_);
    return completed_at_;
  }
  [[nodiscard]] std::optional<ResponseHead> head() const {
    std::lock_guard lock(mutex_);
    return head_;
  }
  [[nodiscard]] int status() const {
    std::lock_guard lock(mutex_);
    return head_ ? head_->status : 0;
  }
  [[nodiscard]] std::string body() const {
    std::lock_guard lock(mutex_);
    return body_;
  }
  [[nodiscard]] std::size_t body_chunks() const {
    std::lock_guard lock(mutex_);
    return body_chunks_;
  }
  // on_head at most once, before any body; nothing after on_complete.
  [[nodiscard]] bool order_ok() const {
    std::lock_guard lock(mutex_);
    return order_ok_ && heads_ <= 1;
  }

 private:
  const Request request_;
  std::size_t stop_after_ = 0;
  bool throw_in_body_ = false;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  int heads_ = 0;
  int completions_ = 0;
  std::size_t body_chunks_ = 0;
  bool order_ok_ = true;
  std::optional<ResponseHead> head_;
  std::string body_;
  std::optional<ExchangeResult> result_;
  std::chrono::steady_clock::time_point completed_at_{};
};

}  // namespace fetchpipe::testing
