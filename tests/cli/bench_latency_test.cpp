// BenchLatency: percentiles within the promised 1/128 of the value, exact for small values,
// nothing lost when many threads record at once (run under tsan as well).
#include "bench_latency.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace fetchpipe::cli {
namespace {

using namespace std::chrono_literals;

TEST(BenchLatency, Empty_IsZero) {
  const BenchLatency latency;
  EXPECT_EQ(latency.count(), 0u);
  EXPECT_EQ(latency.percentile_ms(0.5), 0.0);
}

TEST(BenchLatency, Percentiles_WithinOnePart_In128) {
  BenchLatency latency;
  // 1..1000 us: p50 is 500 us, p99 990 us, p100 1000 us by nearest rank.
  for (int us = 1; us <= 1000; ++us) latency.record(std::chrono::microseconds{us});
  EXPECT_EQ(latency.count(), 1000u);
  EXPECT_NEAR(latency.percentile_ms(0.50), 0.500, 0.500 / 128);
  EXPECT_NEAR(latency.percentile_ms(0.99), 0.990, 0.990 / 128);
  EXPECT_NEAR(latency.percentile_ms(1.00), 1.000, 1.000 / 128);
  EXPECT_NEAR(latency.percentile_ms(0.0), 0.001, 0.001 / 128);
}

TEST(BenchLatency, SmallAndHugeValues_Fit) {
  BenchLatency latency;
  latency.record(0ns);
  latency.record(-5ns);  // a clock oddity counts as 0, never out of the table
  latency.record(std::chrono::hours{24 * 365 * 100});
  EXPECT_EQ(latency.count(), 3u);
  EXPECT_EQ(latency.percentile_ms(0.5), 0.0);
  EXPECT_NEAR(latency.percentile_ms(1.0), 3.1536e12, 3.1536e12 / 128);
}

TEST(BenchLatency, ConcurrentRecords_AllCounted) {
  BenchLatency latency;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&latency, t] {
      for (int i = 0; i < 50000; ++i) latency.record(std::chrono::microseconds{100 + t});
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(latency.count(), 200000u);
  EXPECT_NEAR(latency.percentile_ms(0.5), 0.1015, 0.002);
}

}  // namespace
}  // namespace fetchpipe::cli
