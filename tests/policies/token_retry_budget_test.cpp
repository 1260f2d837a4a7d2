#include "fetchpipe/token_retry_budget.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::string_view kA = "https://a.example:443";
constexpr std::string_view kB = "http://127.0.0.1:8080";

// Virtual time: a fixed origin of time plus an offset. 1000 s in, so second and slot boundaries
// fall on round offsets.
TimePoint at(std::chrono::nanoseconds offset) { return TimePoint{} + 1000s + offset; }

int spend_all(RetryBudget& budget, std::string_view origin, TimePoint now, int limit = 100000) {
  int n = 0;
  while (n < limit && budget.try_spend(origin, now)) ++n;
  return n;
}

std::string construction_error(const TokenRetryBudget::Options& options) {
  try {
    TokenRetryBudget budget(options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(TokenRetryBudget, DefaultsAreFinaglesNumbers) {
  TokenRetryBudget budget;
  EXPECT_EQ(budget.options().ratio, 0.2);
  EXPECT_EQ(budget.options().window, 10s);
  EXPECT_EQ(budget.options().min_per_second, 10);
}

TEST(TokenRetryBudget, FloorAllowsMinPerSecondWithNoTraffic) {
  TokenRetryBudget budget;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(budget.try_spend(kA, at(100ms * i))) << i;
  EXPECT_FALSE(budget.try_spend(kA, at(999ms))) << "the 11th retry in one second";
  EXPECT_TRUE(budget.try_spend(kA, at(1s))) << "a new second, a new floor";
  EXPECT_EQ(spend_all(budget, kA, at(1500ms)), 9);
}

TEST(TokenRetryBudget, ZeroFloorAndZeroRatioRefuseEverything) {
  TokenRetryBudget budget({.ratio = 0.0, .min_per_second = 0});
  for (int i = 0; i < 50; ++i) budget.record_request(kA, at(0s));
  EXPECT_FALSE(budget.try_spend(kA, at(0s)));
}

// Spends all it can at the start of each of the window's ten 1 s slots from `start`.
int spend_over_window(RetryBudget& budget, std::string_view origin, std::chrono::nanoseconds start) {
  int n = 0;
  for (int k = 0; k < 10; ++k) n += spend_all(budget, origin, at(start + std::chrono::seconds{k}));
  return n;
}

TEST(TokenRetryBudget, RatioAllowsExactlyTwentyPerHundredRequests) {
  TokenRetryBudget budget({.min_per_second = 0});
  for (int i = 0; i < 100; ++i) budget.record_request(kA, at(0s));
  EXPECT_EQ(spend_all(budget, kA, at(0s)), 20);
  EXPECT_EQ(spend_over_window(budget, kA, 1s), 0) << "the window's allowance is spent";
  EXPECT_EQ(spend_all(budget, kA, at(10s)), 0) << "the requests left the window";
}

TEST(TokenRetryBudget, WhatTheWindowEarnedIsNotSpentInOneBurst) {
  // 10 s of healthy traffic, 100 requests a second, bank 200 retries; then every request fails.
  TokenRetryBudget budget({.min_per_second = 0});
  for (int second = 0; second < 10; ++second) {
    for (int i = 0; i < 100; ++i) budget.record_request(kA, at(std::chrono::seconds{second}));
  }
  budget.record_request(kA, at(10s));
  int first_second = 0;
  for (int i = 0; i < 100; ++i) {
    budget.record_request(kA, at(10s + std::chrono::milliseconds{i * 10}));
    first_second += spend_all(budget, kA, at(10s + std::chrono::milliseconds{i * 10}));
  }
  EXPECT_LE(first_second, 21) << "a second spends 20 % of a second's requests, not the window's 200";
  EXPECT_GE(first_second, 19);
}
TEST(TokenRetryBudget, TheFloorCountsAgainstTheRatio) {
  TokenRetryBudget budget({.failure_throttle = false});  // the ratio and the floor alone
  for (int i = 0; i < 1000; ++i) budget.record_request(kA, at(0s));
  // 200 for the window: the floor's 10 are part of it, not extra.
  EXPECT_EQ(spend_all(budget, kA, at(0s)), 200);
  // Later seconds still get the floor, whatever the traffic.
  EXPECT_EQ(spend_over_window(budget, kA, 1s), 100);
}TEST(TokenRetryBudget, UnderBusyTrafficTheFloorAddsNothing) {
  // 1,000 requests a second, every one failing: once the window is full, retries stay at 20 % of
  // them, the floor being part of that allowance (an outage costs a busy origin 1.2 times its
  // load, not 1.2 plus the floor of every client), and no second gets more than its share.
  // (The ratio and the floor alone: the failure throttle, tested below, shrinks this further.)
  TokenRetryBudget budget({.failure_throttle = false});
  std::vector<int> per_second(30, 0);
  for (int second = 0; second < 30; ++second) {
    for (int i = 0; i < 1000; ++i) {
      const auto t = at(std::chrono::seconds{second} + std::chrono::microseconds{i * 1000});
      budget.record_request(kA, t);
      if (budget.try_spend(kA, t)) ++per_second[static_cast<std::size_t>(second)];
    }
  }
  for (int second = 10; second < 30; ++second) {
    EXPECT_LE(per_second[static_cast<std::size_t>(second)], 200) << second;
    EXPECT_GE(per_second[static_cast<std::size_t>(second)], 190) << second;
  }
}
// ---- the failure throttle: the allowance shrinks when the failures outrun it ---------------------

// `requests_per_second` requests a second, spread evenly over [start, start + seconds), of which
// every `ask_every`-th fails and asks for a retry at once. Returns the retries allowed per second.
std::vector<int> run_traffic(RetryBudget& budget, std::chrono::seconds start, int seconds, int requests_per_second,
                             int ask_every = 1) {
  std::vector<int> allowed(static_cast<std::size_t>(seconds), 0);
  const auto gap = std::chrono::nanoseconds{1s} / requests_per_second;
  for (int s = 0; s < seconds; ++s) {
    for (int i = 0; i < requests_per_second; ++i) {
      const auto t = at(start + std::chrono::seconds{s} + gap * i);
      budget.record_request(kA, t);
      if (i % ask_every == 0 && budget.try_spend(kA, t)) ++allowed[static_cast<std::size_t>(s)];
    }
  }
  return allowed;
}

TEST(TokenRetryBudget, DefaultsThrottleFailures) {
  EXPECT_TRUE(TokenRetryBudget{}.options().failure_throttle);
}

TEST(TokenRetryBudget, AnOriginFailingBeyondTheAllowanceGetsRatioTimesRatio) {
  // 1,000 requests a second, every one failing. The ratio alone would keep paying 20 % of them
  // (200 a second: at 90 % utilisation that is 1.08 times capacity, and an overloaded server never
  // drains). With the throttle the window's 10,000 failures outnumber its 2,000 allowance five to
  // one, so every part of it shrinks to a fifth: 20 % x 20 % = 40 a second.
  TokenRetryBudget budget;
  const auto allowed = run_traffic(budget, 0s, 30, 1000);
  for (int second = 11; second < 30; ++second) {
    EXPECT_LE(allowed[static_cast<std::size_t>(second)], 44) << second;
    EXPECT_GE(allowed[static_cast<std::size_t>(second)], 36) << second;
  }
}

TEST(TokenRetryBudget, FailuresTheAllowanceCoversAreUntouched) {
  // 1,000 requests a second, one in ten failing once: 100 asks a second against an allowance of
  // 200. Every one is paid, as without the throttle.
  TokenRetryBudget budget;
  const auto allowed = run_traffic(budget, 0s, 30, 1000, 10);
  for (int second = 0; second < 30; ++second) EXPECT_EQ(allowed[static_cast<std::size_t>(second)], 100) << second;
}

TEST(TokenRetryBudget, ALoneFetchAndLightTrafficAreNeverThrottled) {
  TokenRetryBudget lone;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(lone.try_spend(kA, at(100ms * i))) << i;
  // No successes at all, 10 failures a second for a minute: the floor pays every one.
  TokenRetryBudget light;
  for (int second = 0; second < 60; ++second) {
    for (int i = 0; i < 10; ++i) {
      EXPECT_TRUE(light.try_spend(kA, at(std::chrono::seconds{second} + 100ms * i))) << second << " " << i;
    }
  }
}

TEST(TokenRetryBudget, TheFloorShrinksWhenFailuresOutrunIt) {
  // A dead origin and no successes: 100 asks a second against a floor of 10. Once the window
  // holds ten times more failures than the floor pays for, the floor pays a tenth: one a second.
  TokenRetryBudget budget;
  std::vector<int> allowed(30, 0);
  for (int second = 0; second < 30; ++second) {
    for (int i = 0; i < 100; ++i) {
      if (budget.try_spend(kA, at(std::chrono::seconds{second} + 10ms * i))) ++allowed[static_cast<std::size_t>(second)];
    }
  }
  EXPECT_EQ(allowed[0], 10) << "the first second's 100 failures fit the window's floor of 100";
  for (int second = 12; second < 30; ++second) EXPECT_LE(allowed[static_cast<std::size_t>(second)], 2) << second;
}

TEST(TokenRetryBudget, TheFullAllowanceReturnsOnceTheFailuresLeaveTheWindow) {
  TokenRetryBudget budget;
  run_traffic(budget, 0s, 10, 1000);  // 10 s of every request failing
  const auto after = run_traffic(budget, 10s, 20, 1000, 20);  // then 5 % failing: 50 asks a second
  EXPECT_LT(after[0], 50) << "the failing seconds still weigh on the allowance";
  for (int second = 10; second < 20; ++second) EXPECT_EQ(after[static_cast<std::size_t>(second)], 50) << second;
}

TEST(TokenRetryBudget, TheThrottleCanBeTurnedOff) {
  TokenRetryBudget budget({.failure_throttle = false});
  const auto allowed = run_traffic(budget, 0s, 30, 1000);
  for (int second = 10; second < 30; ++second) EXPECT_GE(allowed[static_cast<std::size_t>(second)], 190) << second;
}

// The window arithmetic of the ratio alone: these ask again and again after a refusal, and every
// refused ask is a failure the throttle would count.
TEST(TokenRetryBudget, RatioRoundsDown) {
  TokenRetryBudget budget({.ratio = 0.2, .min_per_second = 0, .failure_throttle = false});
  for (int i = 0; i < 9; ++i) budget.record_request(kA, at(0s));
  EXPECT_EQ(spend_over_window(budget, kA, 0s), 1);  // 9 * 0.2 = 1.8
  budget.record_request(kA, at(0s));
  EXPECT_EQ(spend_all(budget, kA, at(9s)), 1);  // 10 * 0.2 = 2, one already spent
  EXPECT_EQ(spend_all(budget, kA, at(9s)), 0);
}
TEST(TokenRetryBudget, LargeRatioIsExact) {
  TokenRetryBudget budget({.ratio = 3.5, .min_per_second = 0});
  for (int i = 0; i < 10; ++i) budget.record_request(kA, at(0s));
  EXPECT_EQ(spend_over_window(budget, kA, 0s), 35) << "4 a slot (3.5 rounded up) until the window's 35";
}
TEST(TokenRetryBudget, RequestsOlderThanTheWindowNoLongerCount) {
  TokenRetryBudget budget({.ratio = 1.0, .window = 10s, .min_per_second = 0});
  for (int i = 0; i < 10; ++i) budget.record_request(kA, at(0s));
  // Slots are window/10 = 1 s wide: the requests of slot [0, 1 s) count until 10 s.
  EXPECT_EQ(spend_all(budget, kA, at(9999ms)), 1);
  TokenRetryBudget fresh({.ratio = 1.0, .window = 10s, .min_per_second = 0});
  for (int i = 0; i < 10; ++i) fresh.record_request(kA, at(0s));
  EXPECT_EQ(spend_all(fresh, kA, at(10s)), 0) << "a request 10 s old is outside a 10 s window";
}
TEST(TokenRetryBudget, RetriesExpireWithTheWindow) {
  TokenRetryBudget budget({.ratio = 1.0, .window = 10s, .min_per_second = 0, .failure_throttle = false});
  for (int i = 0; i < 10; ++i) budget.record_request(kA, at(0s));
  EXPECT_EQ(spend_all(budget, kA, at(0s)), 10);
  EXPECT_EQ(spend_all(budget, kA, at(9s)), 0);
  // At 10 s the requests and the retries of slot 0 have left the window together: 2 new
  // requests, so 2 more. (Were the old retries still counted: none.)
  budget.record_request(kA, at(10s));
  budget.record_request(kA, at(10s));
  EXPECT_EQ(spend_all(budget, kA, at(10s)), 2);
}TEST(TokenRetryBudget, OriginsAreIsolated) {
  TokenRetryBudget budget({.min_per_second = 0});
  for (int i = 0; i < 1000; ++i) budget.record_request(kA, at(0s));
  for (int i = 0; i < 100; ++i) budget.record_request(kB, at(0s));
  EXPECT_EQ(spend_all(budget, kB, at(0s)), 20) << "B's own 100 requests";
  EXPECT_EQ(spend_all(budget, kA, at(0s)), 200) << "B's retries took nothing from A";
}TEST(TokenRetryBudget, TimePointsBeforeTheClocksEpochWork) {
  // Seconds and slots are floor(t / width): [-1 s, 0) and [0, 1 s) are two seconds, which
  // truncation toward zero would merge into one.
  TokenRetryBudget floor({.ratio = 0.0, .min_per_second = 1});
  EXPECT_EQ(spend_all(floor, kA, TimePoint{} - 500ms), 1);
  EXPECT_EQ(spend_all(floor, kA, TimePoint{} + 500ms), 1) << "a new second";
  // A request at -0.5 s is in slot -1: counted 9.4 s later, gone 10.1 s later.
  TokenRetryBudget young({.ratio = 1.0, .window = 10s, .min_per_second = 0});
  young.record_request(kA, TimePoint{} - 500ms);
  EXPECT_EQ(spend_all(young, kA, TimePoint{} + 8900ms), 1);
  TokenRetryBudget old({.ratio = 1.0, .window = 10s, .min_per_second = 0});
  old.record_request(kA, TimePoint{} - 500ms);
  EXPECT_EQ(spend_all(old, kA, TimePoint{} + 9600ms), 0) << "10.1 s old, outside a 10 s window";
}

TEST(TokenRetryBudget, SharedBetweenThreadsCountsExactly) {
  // Two threads hammer one budget for one origin: the total allowed is exactly the ratio of the
  // requests recorded before (the floor within it), whatever the interleaving.
  TokenRetryBudget budget({.ratio = 0.5, .min_per_second = 10});
  constexpr int kRequests = 4000;
  for (int i = 0; i < kRequests; ++i) budget.record_request(kA, at(0s));
  std::atomic<int> allowed{0};
  auto hammer = [&] {
    int mine = 0;
    for (int i = 0; i < 5000; ++i) {
      if (budget.try_spend(kA, at(0s))) ++mine;
      budget.record_request(kB, at(0s));  // and another origin at once, through the same table
    }
    allowed += mine;
  };
  std::thread t1(hammer), t2(hammer);
  t1.join();
  t2.join();
  EXPECT_EQ(allowed.load(), kRequests / 2);
  EXPECT_EQ(spend_all(budget, kB, at(0s)), 10000 / 2);
}

TEST(TokenRetryBudget, TrackedOriginsAreBounded) {
  TokenRetryBudget budget({.max_origins = 64});
  for (int i = 0; i < 10000; ++i) {
    budget.record_request("http://host" + std::to_string(i) + ":80", at(0s));
    ASSERT_LE(budget.tracked_origins(), 64u) << i;
  }
  EXPECT_GE(budget.tracked_origins(), 32u) << "the cap is used, not wasted";
}

TEST(TokenRetryBudget, EvictsTheLeastRecentlyUsedOrigin) {
  TokenRetryBudget budget({.ratio = 1.0, .min_per_second = 0, .max_origins = 1});
  budget.record_request(kA, at(0s));
  budget.record_request(kB, at(0s));  // A is evicted: its request is forgotten
  EXPECT_EQ(budget.tracked_origins(), 1u);
  EXPECT_EQ(spend_all(budget, kA, at(0s)), 0);
}

TEST(TokenRetryBudget, KeepsAnOriginInUseWhileOthersComeAndGo) {
  TokenRetryBudget budget({.ratio = 1.0, .min_per_second = 0, .max_origins = 64});
  for (int i = 0; i < 2000; ++i) {
    budget.record_request("http://other" + std::to_string(i) + ":80", at(0s));
    budget.record_request(kA, at(0s));  // A stays the most recently used of its shard
  }
  EXPECT_EQ(spend_all(budget, kA, at(0s)), 2000) << "A's counts survived 2000 other origins";
}

TEST(TokenRetryBudget, ValidatesOptions) {
  EXPECT_THAT(construction_error({.ratio = -0.1}), HasSubstr("ratio must be in [0, 1000], got -0.1"));
  EXPECT_THAT(construction_error({.ratio = 1000.5}), HasSubstr("ratio must be in [0, 1000], got 1000.5"));
  EXPECT_THAT(construction_error({.ratio = std::nan("")}), HasSubstr("ratio must be in [0, 1000], got nan"));
  EXPECT_THAT(construction_error({.window = 0s}), HasSubstr("window must be > 0, got 0s"));
  EXPECT_THAT(construction_error({.window = -5ms}), HasSubstr("window must be > 0, got -5ms"));
  EXPECT_THAT(construction_error({.min_per_second = -1}), HasSubstr("min_per_second must be >= 0, got -1"));
  EXPECT_THAT(construction_error({.max_origins = 0}), HasSubstr("max_origins must be >= 1, got 0"));
  EXPECT_EQ(construction_error({.ratio = 1000.0, .window = 1ns, .min_per_second = 0}), "<no exception>");
}

}  // namespace
}  // namespace fetchpipe
