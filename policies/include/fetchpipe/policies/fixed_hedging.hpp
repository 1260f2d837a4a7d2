// fetchpipe/policies/fixed_hedging.hpp — hedge after a fixed delay (the CLI's --hedge DUR).
//
// Example:
//   fetchpipe::ClientOptions options;
//   options.hedging = std::make_shared<fetchpipe::FixedHedging>(
//       fetchpipe::FixedHedging::Options{.delay = 50ms, .max_in_flight = 2});
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "fetchpipe/hedging_policy.hpp"

namespace fetchpipe {

class FixedHedging final : public HedgingPolicy {
 public:
  struct Options {
    std::chrono::nanoseconds delay{std::chrono::milliseconds{100}};  // > 0
    int max_in_flight = 2;                                           // 2..5
  };

  // Throws std::invalid_argument naming the field and value when an option is out of range.
  explicit FixedHedging(Options options);

  [[nodiscard]] std::optional<std::chrono::nanoseconds> hedge_delay(std::string_view origin) override;
  [[nodiscard]] int max_in_flight() const override { return options_.max_in_flight; }
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace fetchpipe
