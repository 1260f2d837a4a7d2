#include "fetchpipe/policies/adaptive_hedging.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "duration_text.hpp"
#include "latency_histogram.hpp"
#include "origin_table.hpp"

namespace fetchpipe {
namespace {

// The percentile is read again only after this many new samples: reading walks the buckets,
// recording is a single increment.
constexpr std::uint32_t kSamplesPerReading = 16;

struct OriginLatency {
  detail::LatencyHistogram histogram;
  std::uint32_t samples = 0;  // capped at min_samples: "enough to trust"
  std::uint32_t since_reading = kSamplesPerReading;
  std::chrono::nanoseconds reading{0};
};

}  // namespace

struct AdaptiveHedging::Table {
  explicit Table(std::size_t max_origins) : origins(max_origins) {}
  detail::OriginTable<OriginLatency> origins;
};

AdaptiveHedging::AdaptiveHedging() : AdaptiveHedging(Options{}) {}

AdaptiveHedging::AdaptiveHedging(Options options) : options_(options) {
  const auto fail = [](std::string_view field, const std::string& value, std::string_view rule) {
    throw std::invalid_argument(fmt::format("AdaptiveHedging: {} must be {}, got {}", field, rule, value));
  };
  if (!(options_.percentile > 0.0 && options_.percentile < 1.0)) {
    fail("percentile", fmt::format("{}", options_.percentile), "in (0, 1)");
  }
  if (options_.floor <= std::chrono::nanoseconds::zero()) fail("floor", detail::duration_text(options_.floor), "> 0");
  if (options_.cap < options_.floor) fail("cap", detail::duration_text(options_.cap), ">= floor");
  if (options_.min_samples < 1) fail("min_samples", fmt::format("{}", options_.min_samples), ">= 1");
  if (options_.window < options_.min_samples) fail("window", fmt::format("{}", options_.window), ">= min_samples");
  if (options_.max_in_flight < 2 || options_.max_in_flight > 5) {
    fail("max_in_flight", fmt::format("{}", options_.max_in_flight), "2..5");
  }
  if (options_.max_origins < 1) fail("max_origins", "0", ">= 1");
  table_ = std::make_unique<Table>(options_.max_origins);
}

AdaptiveHedging::~AdaptiveHedging() = default;

void AdaptiveHedging::record_latency(std::string_view origin, std::chrono::nanoseconds latency) {
  const auto window = static_cast<std::uint32_t>(options_.window);
  const auto enough = static_cast<std::uint32_t>(options_.min_samples);
  table_->origins.with(origin, [&](OriginLatency& o) {
    o.histogram.add(latency, window);
    o.samples = std::min(o.samples + 1, enough);
    ++o.since_reading;
  });
}

std::optional<std::chrono::nanoseconds> AdaptiveHedging::hedge_delay(std::string_view origin) {
  const auto enough = static_cast<std::uint32_t>(options_.min_samples);
  const auto delay = table_->origins.with(origin, [&](OriginLatency& o) -> std::chrono::nanoseconds {
    if (o.samples < enough) return options_.cap;
    if (o.since_reading >= kSamplesPerReading) {
      o.reading = o.histogram.quantile(options_.percentile);
      o.since_reading = 0;
    }
    return o.reading;
  });
  return std::clamp(delay, options_.floor, options_.cap);
}

}  // namespace fetchpipe
