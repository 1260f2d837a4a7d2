// How many curl event loops `fetchpipe bench` runs for a concurrency on a machine.
#include <gtest/gtest.h>

#include "bench_runner.hpp"

namespace fetchpipe::cli {
namespace {

TEST(BenchEventLoops, OnePerThirtyTwoConnectionsUpToTheCores) {
  EXPECT_EQ(bench_event_loops(1, 2), 1U);
  EXPECT_EQ(bench_event_loops(16, 2), 1U);
  EXPECT_EQ(bench_event_loops(63, 2), 1U);
  EXPECT_EQ(bench_event_loops(64, 2), 2U);
  EXPECT_EQ(bench_event_loops(10'000, 2), 2U);
  EXPECT_EQ(bench_event_loops(256, 16), 8U);
  EXPECT_EQ(bench_event_loops(10'000, 16), 16U);
}

TEST(BenchEventLoops, OddInputsStayInRange) {
  EXPECT_EQ(bench_event_loops(0, 8), 1U);
  EXPECT_EQ(bench_event_loops(-5, 8), 1U);
  EXPECT_EQ(bench_event_loops(4096, 0), 1U) << "hardware_concurrency() may say 0: unknown";
  EXPECT_EQ(bench_event_loops(1'000'000, 1'000), 64U) << "CurlTransport takes at most 64";
}

}  // namespace
}  // namespace fetchpipe::cli
