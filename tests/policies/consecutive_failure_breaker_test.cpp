#include "fetchpipe/consecutive_failure_breaker.hpp"

#include <atomic>
#include <barrier>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Verdict = Admission::Verdict;

constexpr std::string_view kA = "https://a.example:443";
constexpr std::string_view kB = "http://127.0.0.1:8080";

TimePoint at(std::chrono::nanoseconds offset) { return TimePoint{} + 1000s + offset; }

// Admits and reports one attempt; returns the verdict.
Verdict attempt(CircuitBreaker& breaker, std::string_view origin, TimePoint now, AttemptOutcome outcome) {
  const Admission a = breaker.admit(origin, now);
  if (a.verdict != Verdict::rejected) breaker.report(origin, now, outcome, a.verdict == Verdict::probe);
  return a.verdict;
}

struct Change {
  std::string origin;
  CircuitState from;
  CircuitState to;
  bool operator==(const Change&) const = default;
};

// Records every transition the listener sees.
struct Recorder {
  std::mutex mutex;
  std::vector<Change> changes;
  ConsecutiveFailureBreaker::Listener listener() {
    return [this](std::string_view origin, CircuitState from, CircuitState to) {
      std::lock_guard lock(mutex);
      changes.push_back({std::string(origin), from, to});
    };
  }
};

std::string construction_error(ConsecutiveFailureBreaker::Options options) {
  try {
    ConsecutiveFailureBreaker breaker(std::move(options));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(ConsecutiveFailureBreaker, StateMachineStepByStep) {
  Recorder rec;
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 3, .open_for = 5s, .on_state_change = rec.listener()});
  // closed: two failures, a success resets the run, three more open it.
  EXPECT_EQ(attempt(breaker, kA, at(0s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(attempt(breaker, kA, at(0s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(attempt(breaker, kA, at(0s), AttemptOutcome::success), Verdict::allowed);
  EXPECT_EQ(attempt(breaker, kA, at(1s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(attempt(breaker, kA, at(1s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(breaker.state(kA), CircuitState::closed);
  EXPECT_EQ(attempt(breaker, kA, at(2s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
  // open: rejected until 2 s + 5 s, with that time.
  const Admission rejected = breaker.admit(kA, at(6999ms));
  EXPECT_EQ(rejected.verdict, Verdict::rejected);
  EXPECT_EQ(rejected.retry_at, at(7s));
  // half_open: the first asker at 7 s probes; the probe fails -> open for 5 s from its report.
  EXPECT_EQ(breaker.admit(kA, at(7s)).verdict, Verdict::probe);
  EXPECT_EQ(breaker.state(kA), CircuitState::half_open);
  breaker.report(kA, at(7500ms), AttemptOutcome::failure, true);
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
  EXPECT_EQ(breaker.admit(kA, at(12499ms)).retry_at, at(12500ms));
  // The next probe succeeds -> closed, with a fresh failure run.
  EXPECT_EQ(attempt(breaker, kA, at(12500ms), AttemptOutcome::success), Verdict::probe);
  EXPECT_EQ(breaker.state(kA), CircuitState::closed);
  EXPECT_EQ(attempt(breaker, kA, at(13s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(attempt(breaker, kA, at(13s), AttemptOutcome::failure), Verdict::allowed);
  EXPECT_EQ(breaker.state(kA), CircuitState::closed);

  const std::string a(kA);
  const std::vector<Change> expected{
      {a, CircuitState::closed, CircuitState::open},    {a, CircuitState::open, CircuitState::half_open},
      {a, CircuitState::half_open, CircuitState::open}, {a, CircuitState::open, CircuitState::half_open},
      {a, CircuitState::half_open, CircuitState::closed}};
  EXPECT_EQ(rec.changes, expected);
}

TEST(ConsecutiveFailureBreaker, HalfOpenRejectsOthersWhileTheProbeIsOut) {
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 1, .open_for = 5s});
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  ASSERT_EQ(breaker.admit(kA, at(5s)).verdict, Verdict::probe);
  const Admission other = breaker.admit(kA, at(6s));
  EXPECT_EQ(other.verdict, Verdict::rejected);
  EXPECT_EQ(other.retry_at, at(11s)) << "now + open_for";
  // An abandoned probe frees the slot: the next asker probes, without a new transition.
  breaker.report(kA, at(6s), AttemptOutcome::abandoned, true);
  EXPECT_EQ(breaker.state(kA), CircuitState::half_open);
  EXPECT_EQ(breaker.admit(kA, at(6s)).verdict, Verdict::probe);
  EXPECT_EQ(breaker.admit(kA, at(6s)).verdict, Verdict::rejected);
}

TEST(ConsecutiveFailureBreaker, LateReportsOfNonProbesDoNotMoveTheCircuit) {
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 2, .open_for = 5s});
  ASSERT_EQ(breaker.admit(kA, at(0s)).verdict, Verdict::allowed);  // a slow attempt, still running
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  ASSERT_EQ(breaker.state(kA), CircuitState::open);
  breaker.report(kA, at(1s), AttemptOutcome::success, false);  // the slow one ends: no effect
  breaker.report(kA, at(3s), AttemptOutcome::failure, false);  // nor does a late failure extend it
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
  ASSERT_EQ(breaker.admit(kA, at(5s)).verdict, Verdict::probe);
  breaker.report(kA, at(5s), AttemptOutcome::success, false);  // not the probe: no effect
  breaker.report(kA, at(5s), AttemptOutcome::failure, false);
  breaker.report(kA, at(5s), AttemptOutcome::failure, false);
  EXPECT_EQ(breaker.state(kA), CircuitState::half_open);
  breaker.report(kA, at(5s), AttemptOutcome::failure, true);
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
}

TEST(ConsecutiveFailureBreaker, AbandonedAttemptsCountNeitherWay) {
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 2});
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  attempt(breaker, kA, at(0s), AttemptOutcome::abandoned);  // not a failure...
  EXPECT_EQ(breaker.state(kA), CircuitState::closed);
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);  // ...nor a success that resets the run
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
}

TEST(ConsecutiveFailureBreaker, RatioRuleWaitsForMinimumCalls) {
  ConsecutiveFailureBreaker breaker(
      {.consecutive_failures = 0, .failure_ratio = 0.5, .minimum_calls = 10, .window = 10s});
  // Alternate: never two failures in a row, ratio exactly 0.5 - but only from the 10th call.
  for (int i = 0; i < 9; ++i) {
    attempt(breaker, kA, at(0s), i % 2 == 0 ? AttemptOutcome::failure : AttemptOutcome::success);
    ASSERT_EQ(breaker.state(kA), CircuitState::closed) << "call " << i + 1;
  }
  attempt(breaker, kA, at(0s), AttemptOutcome::success);  // 10 calls, 5 failures: checked on failure only
  EXPECT_EQ(breaker.state(kA), CircuitState::closed);
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);  // 11 calls, 6 failures >= 0.5
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
}

TEST(ConsecutiveFailureBreaker, RatioRuleBelowTheRatioStaysClosed) {
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 0, .failure_ratio = 0.5, .minimum_calls = 4});
  for (int i = 0; i < 100; ++i) {
    attempt(breaker, kA, at(0s), i % 3 == 2 ? AttemptOutcome::failure : AttemptOutcome::success);
  }
  EXPECT_EQ(breaker.state(kA), CircuitState::closed) << "1 in 3 < 0.5";
}

TEST(ConsecutiveFailureBreaker, RatioRuleForgetsCallsOlderThanTheWindow) {
  ConsecutiveFailureBreaker breaker(
      {.consecutive_failures = 0, .failure_ratio = 0.5, .minimum_calls = 4, .window = 10s});
  for (int i = 0; i < 3; ++i) attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  // 10 s later those three are out of the window: one more failure is 1 call, below the minimum.
  attempt(breaker, kA, at(10s), AttemptOutcome::failure);
  EXPECT_EQ(breaker.state(kA), CircuitState::closed);
  // Within the window they still count: 4 calls, 4 failures.
  ConsecutiveFailureBreaker other(
      {.consecutive_failures = 0, .failure_ratio = 0.5, .minimum_calls = 4, .window = 10s});
  for (int i = 0; i < 3; ++i) attempt(other, kA, at(0s), AttemptOutcome::failure);
  attempt(other, kA, at(8999ms), AttemptOutcome::failure);
  EXPECT_EQ(other.state(kA), CircuitState::open);
}

TEST(ConsecutiveFailureBreaker, OriginsAreIsolated) {
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 1});
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  EXPECT_EQ(breaker.state(kA), CircuitState::open);
  EXPECT_EQ(breaker.admit(kB, at(0s)).verdict, Verdict::allowed);
}

TEST(ConsecutiveFailureBreaker, ExactlyOneProbePerRoundUnderEightThreads) {
  // Each round: the circuit is open and its period has ended; 8 threads ask for admission many
  // times at once. Exactly one gets the probe; it reports failure, which opens the circuit again.
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  constexpr int kAsksPerThread = 20;
  ConsecutiveFailureBreaker breaker({.consecutive_failures = 1, .open_for = 1s});
  attempt(breaker, kA, at(0s), AttemptOutcome::failure);
  std::atomic<int> probes{0};
  std::atomic<int> rounds_with_one_probe{0};
  std::barrier sync(kThreads, [&]() noexcept {
    if (probes.exchange(0) == 1) ++rounds_with_one_probe;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 1; round <= kRounds; ++round) {
        const TimePoint now = at(std::chrono::seconds{round});  // each round: the open period ended
        for (int i = 0; i < kAsksPerThread; ++i) {
          const Admission a = breaker.admit(kA, now);
          if (a.verdict == Verdict::allowed) ADD_FAILURE() << "allowed while not closed";
          if (a.verdict == Verdict::probe) {
            ++probes;
            breaker.report(kA, now, AttemptOutcome::failure, true);  // open again until now + 1 s
          }
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(rounds_with_one_probe.load(), kRounds);
}

TEST(ConsecutiveFailureBreaker, ListenerMayCallBackIntoTheBreaker) {
  // Run in a thread so a deadlock fails the test by timeout instead of hanging it.
  ConsecutiveFailureBreaker* self = nullptr;
  std::vector<std::tuple<CircuitState, CircuitState, CircuitState>> seen;  // from, to, state()
  ConsecutiveFailureBreaker breaker(
      {.consecutive_failures = 1,
       .open_for = 1s,
       .on_state_change = [&](std::string_view origin, CircuitState from, CircuitState to) {
         seen.emplace_back(from, to, self->state(origin));  // takes the shard lock again
         (void)self->admit(origin, at(0s));
       }});
  self = &breaker;
  std::promise<void> done;
  std::thread worker([&] {
    attempt(breaker, kA, at(0s), AttemptOutcome::failure);
    attempt(breaker, kA, at(1s), AttemptOutcome::success);
    done.set_value();
  });
  if (done.get_future().wait_for(30s) != std::future_status::ready) {
    worker.detach();  // stuck for good: report it rather than hang the whole binary
    FAIL() << "the listener deadlocked calling back into the breaker";
  }
  worker.join();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_tuple(CircuitState::closed, CircuitState::open, CircuitState::open));
  EXPECT_EQ(seen[1], std::make_tuple(CircuitState::open, CircuitState::half_open, CircuitState::half_open));
  EXPECT_EQ(seen[2], std::make_tuple(CircuitState::half_open, CircuitState::closed, CircuitState::closed));
}

TEST(ConsecutiveFailureBreaker, TrackedOriginsAreBounded) {
  ConsecutiveFailureBreaker breaker({.max_origins = 32});
  for (int i = 0; i < 5000; ++i) {
    attempt(breaker, "http://host" + std::to_string(i) + ":80", at(0s), AttemptOutcome::failure);
    ASSERT_LE(breaker.tracked_origins(), 32u) << i;
  }
}

TEST(ConsecutiveFailureBreaker, ValidatesOptions) {
  EXPECT_THAT(construction_error({.consecutive_failures = -1}),
              HasSubstr("consecutive_failures must be >= 0, got -1"));
  EXPECT_THAT(construction_error({.failure_ratio = 1.5}), HasSubstr("failure_ratio must be in [0, 1], got 1.5"));
  EXPECT_THAT(construction_error({.failure_ratio = -0.1}), HasSubstr("failure_ratio must be in [0, 1], got -0.1"));
  EXPECT_THAT(construction_error({.consecutive_failures = 0}),
              HasSubstr("consecutive_failures and failure_ratio are both 0"));
  EXPECT_THAT(construction_error({.minimum_calls = 0}), HasSubstr("minimum_calls must be >= 1, got 0"));
  EXPECT_THAT(construction_error({.window = 0s}), HasSubstr("window must be > 0, got 0s"));
  EXPECT_THAT(construction_error({.open_for = -1ms}), HasSubstr("open_for must be > 0, got -1ms"));
  EXPECT_THAT(construction_error({.max_origins = 0}), HasSubstr("max_origins must be >= 1, got 0"));
  EXPECT_EQ(construction_error({}), "<no exception>");
}

TEST(CircuitState, Names) {
  EXPECT_EQ(to_string(CircuitState::closed), "closed");
  EXPECT_EQ(to_string(CircuitState::open), "open");
  EXPECT_EQ(to_string(CircuitState::half_open), "half_open");
}

}  // namespace
}  // namespace fetchpipe
