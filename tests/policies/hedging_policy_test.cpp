// FixedHedging and AdaptiveHedging alone: validation, the adaptive delay on known distributions,
// its warm-up, its forgetting, and its bounds.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fetchpipe/policies/adaptive_hedging.hpp"
#include "fetchpipe/policies/fixed_hedging.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

constexpr const char* kOrigin = "http://svc.test:80";

std::string rejection(auto make) {
  try {
    make();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

TEST(FixedHedging, AnswersItsDelayAndValidates) {
  FixedHedging h({.delay = 30ms, .max_in_flight = 3});
  EXPECT_EQ(h.hedge_delay(kOrigin), nanoseconds{30ms});
  EXPECT_EQ(h.max_in_flight(), 3);
  EXPECT_EQ(rejection([] { FixedHedging({.delay = 0ms}); }), "FixedHedging: delay must be > 0, got 0s");
  EXPECT_EQ(rejection([] { FixedHedging({.delay = 1ms, .max_in_flight = 1}); }),
            "FixedHedging: max_in_flight must be 2..5, got 1");
  EXPECT_EQ(rejection([] { FixedHedging({.delay = 1ms, .max_in_flight = 6}); }),
            "FixedHedging: max_in_flight must be 2..5, got 6");
}

TEST(AdaptiveHedging, ValidatesEveryOption) {
  EXPECT_EQ(rejection([] { AdaptiveHedging({.percentile = 1.0}); }), "AdaptiveHedging: percentile must be in (0, 1), got 1");
  EXPECT_EQ(rejection([] { AdaptiveHedging({.floor = 0ms}); }), "AdaptiveHedging: floor must be > 0, got 0s");
  EXPECT_EQ(rejection([] { AdaptiveHedging({.floor = 10ms, .cap = 5ms}); }), "AdaptiveHedging: cap must be >= floor, got 5ms");
  EXPECT_EQ(rejection([] { AdaptiveHedging({.min_samples = 0}); }), "AdaptiveHedging: min_samples must be >= 1, got 0");
  EXPECT_EQ(rejection([] { AdaptiveHedging({.min_samples = 50, .window = 10}); }),
            "AdaptiveHedging: window must be >= min_samples, got 10");
  EXPECT_EQ(rejection([] { AdaptiveHedging({.max_in_flight = 9}); }), "AdaptiveHedging: max_in_flight must be 2..5, got 9");
  EXPECT_EQ(rejection([] { AdaptiveHedging({.max_origins = 0}); }), "AdaptiveHedging: max_origins must be >= 1, got 0");
}

TEST(AdaptiveHedging, UsesTheCapUntilItHasEnoughSamples) {
  AdaptiveHedging h({.cap = 800ms, .min_samples = 20});
  EXPECT_EQ(h.hedge_delay(kOrigin), nanoseconds{800ms});
  for (int i = 0; i < 19; ++i) h.record_latency(kOrigin, 10ms);
  EXPECT_EQ(h.hedge_delay(kOrigin), nanoseconds{800ms});
  h.record_latency(kOrigin, 10ms);
  const auto d = *h.hedge_delay(kOrigin);
  EXPECT_GT(d, 10ms);
  EXPECT_LE(d, 10ms * 1.125 + 1ms);
}

// The p95 of a known distribution, read through the histogram's buckets (at most 12.5 % wide):
// never below the true value (hedging late rather than early), at most one bucket above it.
TEST(AdaptiveHedging, ConvergesOnThePercentileOfAKnownDistribution) {
  struct Case {
    double percentile;
    nanoseconds expected;
  };
  // Uniform on [10 ms, 30 ms): p50 = 20 ms, p95 = 29 ms, p99 = 29.8 ms.
  for (const Case c : {Case{0.5, 20ms}, Case{0.95, 29ms}, Case{0.99, nanoseconds{29'800'000}}}) {
    AdaptiveHedging h({.percentile = c.percentile, .floor = 1ms, .cap = 10s, .window = 1'000'000});
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::int64_t> ns(10'000'000, 29'999'999);
    for (int i = 0; i < 100'000; ++i) h.record_latency(kOrigin, nanoseconds{ns(rng)});
    const auto d = *h.hedge_delay(kOrigin);
    EXPECT_GE(d, c.expected * 0.99) << c.percentile;
    EXPECT_LE(d, c.expected * 1.13) << c.percentile;
  }
}

TEST(AdaptiveHedging, ABimodalTailIsHedgedAtTheFastMode) {
  // 98 % near 10 ms, 2 % near 1 s: the p95 lies in the fast mode, so the slow 2 % get hedged.
  AdaptiveHedging h({.percentile = 0.95, .floor = 1ms, .cap = 2s});
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 5000; ++i) {
    h.record_latency(kOrigin, u(rng) < 0.98 ? nanoseconds{9ms} + nanoseconds{static_cast<std::int64_t>(u(rng) * 2e6)}
                                            : nanoseconds{1s});
  }
  const auto d = *h.hedge_delay(kOrigin);
  EXPECT_GE(d, 10ms);
  EXPECT_LE(d, 13ms);
}

TEST(AdaptiveHedging, ForgetsOldLatenciesAsTheOriginChanges) {
  AdaptiveHedging h({.floor = 1ms, .cap = 10s, .window = 500});
  for (int i = 0; i < 2000; ++i) h.record_latency(kOrigin, 10ms);
  EXPECT_LT(*h.hedge_delay(kOrigin), 12ms);
  for (int i = 0; i < 2000; ++i) h.record_latency(kOrigin, 200ms);
  const auto d = *h.hedge_delay(kOrigin);
  EXPECT_GE(d, 200ms);
  EXPECT_LT(d, 230ms);
}

TEST(AdaptiveHedging, StaysWithinFloorAndCap) {
  AdaptiveHedging fast({.floor = 5ms, .cap = 1s, .min_samples = 1});
  for (int i = 0; i < 100; ++i) fast.record_latency(kOrigin, 100us);
  EXPECT_EQ(fast.hedge_delay(kOrigin), nanoseconds{5ms});
  AdaptiveHedging slow({.floor = 5ms, .cap = 1s, .min_samples = 1});
  for (int i = 0; i < 100; ++i) slow.record_latency(kOrigin, 30s);
  EXPECT_EQ(slow.hedge_delay(kOrigin), nanoseconds{1s});
}

TEST(AdaptiveHedging, KeepsOriginsApartAndBoundsTheirNumber) {
  AdaptiveHedging h({.floor = 1ms, .cap = 10s, .min_samples = 1, .max_origins = 16});
  for (int i = 0; i < 50; ++i) h.record_latency("http://a:80", 10ms);
  for (int i = 0; i < 50; ++i) h.record_latency("http://b:80", 100ms);
  EXPECT_LT(*h.hedge_delay("http://a:80"), 12ms);
  EXPECT_GE(*h.hedge_delay("http://b:80"), 100ms);
  // A flood of origins evicts the least recently used; memory stays bounded and nothing breaks.
  for (int i = 0; i < 10'000; ++i) h.record_latency("http://o" + std::to_string(i) + ":80", 1ms);
  EXPECT_EQ(h.hedge_delay("http://a:80"), nanoseconds{10s});  // forgotten: back to the cap
}

TEST(AdaptiveHedging, IsSafeFromManyThreads) {
  AdaptiveHedging h({.floor = 1ms, .cap = 10s, .min_samples = 1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 20'000; ++i) {
        h.record_latency(t % 2 ? "http://a:80" : "http://b:80", nanoseconds{1ms + nanoseconds{i}});
        (void)h.hedge_delay("http://a:80");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(*h.hedge_delay("http://a:80"), 1ms);
}

}  // namespace
}  // namespace fetchpipe
