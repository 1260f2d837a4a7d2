// fetchpipe/policies/adaptive_hedging.hpp — hedge after the origin's observed latency percentile
// (the CLI's --hedge auto).
//
// Each origin keeps a histogram of the latency of its accepted responses (attempt start to
// response head), in buckets at most 12.5 % wide from 1 µs to about 18 minutes. The hedge delay is
// the upper edge of the bucket holding the chosen percentile (p95 by default), so it errs on the
// late side, clamped to [floor, cap]. The histogram forgets: once it holds `window` samples every
// count is halved, so a change in the origin's latency shows after a few hundred fetches. Before
// an origin has `min_samples` samples its delay is `cap`.
// Memory: about 1.3 KiB per origin, at most `max_origins` origins (least recently used forgotten).
//
// Example:
//   fetchpipe::ClientOptions options;
//   options.hedging = std::make_shared<fetchpipe::AdaptiveHedging>(
//       fetchpipe::AdaptiveHedging::Options{.percentile = 0.95, .floor = 2ms, .cap = 1s});
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "fetchpipe/hedging_policy.hpp"

namespace fetchpipe {

class AdaptiveHedging final : public HedgingPolicy {
 public:
  struct Options {
    double percentile = 0.95;                                         // in (0, 1)
    std::chrono::nanoseconds floor{std::chrono::milliseconds{2}};     // > 0
    std::chrono::nanoseconds cap{std::chrono::seconds{1}};            // >= floor
    int min_samples = 20;                                             // >= 1
    int window = 2000;                                                // >= min_samples
    int max_in_flight = 2;                                            // 2..5
    std::size_t max_origins = 1024;                                   // >= 1
  };

  AdaptiveHedging();  // the defaults above
  // Throws std::invalid_argument naming the field and value when an option is out of range.
  explicit AdaptiveHedging(Options options);
  ~AdaptiveHedging() override;

  [[nodiscard]] std::optional<std::chrono::nanoseconds> hedge_delay(std::string_view origin) override;
  [[nodiscard]] int max_in_flight() const override { return options_.max_in_flight; }
  void record_latency(std::string_view origin, std::chrono::nanoseconds latency) override;
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  struct Table;
  Options options_;
  std::unique_ptr<Table> table_;
};

}  // namespace fetchpipe
