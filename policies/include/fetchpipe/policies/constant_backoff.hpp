// fetchpipe/policies/constant_backoff.hpp — the same wait before every retry.
//
// Example:
//   auto backoff = std::make_shared<fetchpipe::ConstantBackoff>(250ms);
#pragma once

#include <chrono>
#include <memory>

#include "fetchpipe/backoff_policy.hpp"

namespace fetchpipe {

class ConstantBackoff final : public BackoffPolicy {
 public:
  // `delay` must be >= 0 (std::invalid_argument otherwise).
  explicit ConstantBackoff(std::chrono::nanoseconds delay);
  [[nodiscard]] std::chrono::nanoseconds next_delay(int retry) override;
  [[nodiscard]] std::unique_ptr<BackoffPolicy> clone() const override;

 private:
  std::chrono::nanoseconds delay_;
};

}  // namespace fetchpipe
