#include "fetchpipe/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;

TEST(ManualScheduler, FiresDueTimersInTimeOrder) {
  ManualScheduler clock;
  std::vector<int> fired;
  const auto t0 = clock.now();
  clock.schedule_after(30ms, [&] { fired.push_back(3); });
  clock.schedule_after(10ms, [&] { fired.push_back(1); });
  clock.schedule_after(20ms, [&] { fired.push_back(2); });
  clock.schedule_after(20ms, [&] { fired.push_back(22); });  // same time: scheduling order
  EXPECT_EQ(clock.advance(15ms), 1u);
  EXPECT_EQ(fired, std::vector<int>{1});
  EXPECT_EQ(clock.now() - t0, 15ms);
  EXPECT_EQ(clock.advance(100ms), 3u);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 22, 3}));
  EXPECT_EQ(clock.now() - t0, 115ms);
}

TEST(ManualScheduler, ClockReadsEachTimersDueTimeWhileItRuns) {
  ManualScheduler clock;
  const auto t0 = clock.now();
  Clock::duration seen{};
  clock.schedule_after(40ms, [&] { seen = clock.now() - t0; });
  clock.advance(1s);
  EXPECT_EQ(seen, 40ms);
}

TEST(ManualScheduler, TimersScheduledByTimersFireInTheSameAdvance) {
  ManualScheduler clock;
  int chain = 0;
  std::function<void()> step = [&] {
    if (++chain < 5) clock.schedule_after(10ms, step);
  };
  clock.schedule_after(10ms, step);
  clock.advance(100ms);
  EXPECT_EQ(chain, 5);
}

TEST(ManualScheduler, CancelledTimerNeverFires) {
  ManualScheduler clock;
  bool fired = false;
  const auto id = clock.schedule_after(10ms, [&] { fired = true; });
  EXPECT_TRUE(clock.cancel(id));
  EXPECT_FALSE(clock.cancel(id));
  clock.advance(1s);
  EXPECT_FALSE(fired);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(ManualScheduler, StaleIdNeverCancelsATimerThatReusedItsSlot) {
  ManualScheduler clock;
  const auto old_id = clock.schedule_after(10ms, [] {});
  EXPECT_TRUE(clock.cancel(old_id));
  bool fired = false;
  const auto new_id = clock.schedule_after(10ms, [&] { fired = true; });  // reuses the slot
  EXPECT_NE(new_id, old_id);
  EXPECT_FALSE(clock.cancel(old_id));
  clock.advance(10ms);
  EXPECT_TRUE(fired);
}

TEST(ManualScheduler, ManyCancelledFarTimersLeaveTheLiveOnesIntact) {
  ManualScheduler clock;
  int fired = 0;
  std::vector<TimerId> far;
  for (int i = 0; i < 100'000; ++i) {
    far.push_back(clock.schedule_after(1h, [&] { fired += 1000; }));
    if (i % 1000 == 0) clock.schedule_after(std::chrono::milliseconds(i / 1000 + 1), [&] { ++fired; });
  }
  for (auto id : far) EXPECT_TRUE(clock.cancel(id));
  EXPECT_EQ(clock.pending(), 100u);
  clock.advance(2h);
  EXPECT_EQ(fired, 100);
}

TEST(ManualScheduler, SystemTimeMovesWithVirtualTime) {
  ManualScheduler clock;
  const auto w0 = clock.system_now();
  clock.advance(90s);
  EXPECT_EQ(clock.system_now() - w0, 90s);
}

TEST(ManualScheduler, RunNextJumpsToTheNextTimer) {
  ManualScheduler clock;
  const auto t0 = clock.now();
  bool fired = false;
  clock.schedule_after(5s, [&] { fired = true; });
  EXPECT_TRUE(clock.run_next());
  EXPECT_TRUE(fired);
  EXPECT_EQ(clock.now() - t0, 5s);
  EXPECT_FALSE(clock.run_next());
}

TEST(RealScheduler, FiresInOrderOnItsThread) {
  RealScheduler scheduler;
  std::promise<std::vector<int>> result;
  auto order = std::make_shared<std::vector<int>>();
  std::atomic<bool> on_caller{false};
  const auto caller = std::this_thread::get_id();
  scheduler.schedule_after(20ms, [&, order] {
    order->push_back(2);
    result.set_value(*order);
  });
  scheduler.schedule_after(1ms, [&, order] {
    if (std::this_thread::get_id() == caller) on_caller = true;
    order->push_back(1);
  });
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), (std::vector<int>{1, 2}));
  EXPECT_FALSE(on_caller.load());
}

TEST(RealScheduler, CancelBeforeFiringPreventsIt) {
  RealScheduler scheduler;
  std::atomic<bool> fired{false};
  const auto id = scheduler.schedule_after(20ms, [&] { fired = true; });
  EXPECT_TRUE(scheduler.cancel(id));
  // Timers fire in time order: once a later one has fired, the cancelled one's time has passed.
  std::promise<void> later;
  scheduler.schedule_after(60ms, [&] { later.set_value(); });
  ASSERT_EQ(later.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(fired.load());
  EXPECT_FALSE(scheduler.cancel(id)) << "a cancelled timer cannot be cancelled again";
}

TEST(RealScheduler, ManyTimersFromManyThreadsAllFire) {
  std::atomic<int> fired{0};
  {
    RealScheduler scheduler;
    std::vector<std::thread> threads;
    std::promise<void> all;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 2'500; ++i) {
          scheduler.schedule_after(std::chrono::microseconds(i % 50), [&] {
            if (fired.fetch_add(1) + 1 == 10'000) all.set_value();
          });
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
  }
  EXPECT_EQ(fired.load(), 10'000);
}

}  // namespace
}  // namespace fetchpipe
