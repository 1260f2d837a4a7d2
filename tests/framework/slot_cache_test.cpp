// SlotCache (framework/src/rolling_counts.hpp): the budget's time slots without a division per
// call must be exactly slot_of()'s, whatever order the time points come in.
#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "rolling_counts.hpp"

namespace fetchpipe::detail {
namespace {

using namespace std::chrono_literals;

TimePoint at(std::int64_t ns) { return TimePoint{std::chrono::nanoseconds{ns}}; }

TEST(SlotCache, AgreesWithSlotOfAtEveryEdgeAndSign) {
  for (const std::int64_t width : std::vector<std::int64_t>{1, 7, 1'000'000'000}) {
    SlotCache cache{std::chrono::nanoseconds{width}};
    for (const std::int64_t base : std::vector<std::int64_t>{-3 * width, -width, -1, 0, 1, width - 1, width, 5 * width + 3}) {
      for (const std::int64_t d : std::vector<std::int64_t>{-1, 0, 1}) {
        const TimePoint t = at(base + d);
        EXPECT_EQ(cache.slot_of(t), slot_of(t, std::chrono::nanoseconds{width})) << "width " << width << " t " << base + d;
      }
    }
  }
}

TEST(SlotCache, AgreesWithSlotOfForTimesOutOfOrder) {
  SlotCache cache{100ms};
  std::mt19937_64 rng(3);
  std::int64_t t = 1'000'000'000'000;
  for (int i = 0; i < 100'000; ++i) {
    // Mostly small steps forward (one slot reused many times), now and then a jump either way.
    t += (i % 97 == 0) ? static_cast<std::int64_t>(rng() % 2'000'000'000) - 1'000'000'000
                       : static_cast<std::int64_t>(rng() % 1'000'000);
    ASSERT_EQ(cache.slot_of(at(t)), slot_of(at(t), 100ms)) << "at " << t;
  }
}

TEST(SlotCache, ThreadsSharingOneCacheEachGetTheirOwnTimesSlot) {
  SlotCache cache{1s};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      // Each thread walks its own stretch of time: the cached slot keeps changing under it.
      std::int64_t t = k * std::int64_t{7'000'000'000};
      for (int i = 0; i < 20'000; ++i, t += 3'000'017) {
        if (cache.slot_of(at(t)) != slot_of(at(t), 1s)) wrong.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace fetchpipe::detail
