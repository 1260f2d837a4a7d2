#include "fetchpipe/policies/constant_backoff.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "duration_text.hpp"

namespace fetchpipe {

ConstantBackoff::ConstantBackoff(std::chrono::nanoseconds delay) : delay_(delay) {
  if (delay_ < std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument(
        fmt::format("ConstantBackoff: delay must be >= 0, got {}", detail::duration_text(delay_)));
  }
}

std::chrono::nanoseconds ConstantBackoff::next_delay(int /*retry*/) { return delay_; }

std::unique_ptr<BackoffPolicy> ConstantBackoff::clone() const {
  return std::make_unique<ConstantBackoff>(*this);
}

}  // namespace fetchpipe
