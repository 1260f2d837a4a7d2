// fetchpipe/backoff_policy.hpp — how long to wait before the next attempt.
//
// A BackoffPolicy maps the retry number (1 for the wait after the first attempt) to a delay. It
// is cloned per fetch (lazily, on the first retry), so it may keep state such as the previous
// delay (decorrelated jitter) or a random engine. Implementations: policies/exponential_backoff.hpp,
// policies/constant_backoff.hpp.
//
// Example:
//   class Linear final : public fetchpipe::BackoffPolicy {  // 100 ms, 200 ms, 300 ms, ...
//    public:
//     std::chrono::nanoseconds next_delay(int retry) override { return std::max(retry, 1) * 100ms; }
//     std::unique_ptr<fetchpipe::BackoffPolicy> clone() const override {
//       return std::make_unique<Linear>(*this);
//     }
//   };
//   fetchpipe::ClientOptions options;
//   options.backoff_policy = std::make_shared<Linear>();
#pragma once

#include <chrono>
#include <memory>

namespace fetchpipe {

class BackoffPolicy {
 public:
  virtual ~BackoffPolicy() = default;
  // The wait before retry number `retry` (>= 1). Never negative, never overflows.
  [[nodiscard]] virtual std::chrono::nanoseconds next_delay(int retry) = 0;
  [[nodiscard]] virtual std::unique_ptr<BackoffPolicy> clone() const = 0;
};

}  // namespace fetchpipe
