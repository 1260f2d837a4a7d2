// The pipeline's allocation budget (issue 14): a fetch over the memory transport with inline
// callbacks and virtual time makes at most 3 heap allocations when it succeeds, 8 when it is
// retried once and 5 when it is cancelled. Every allocation function is replaced in this binary
// (benchmarks/support/counting_allocator.cpp), so nothing escapes the count. To see where an
// extra allocation comes from: FETCHPIPE_BENCH_TRACE_ALLOCS=1 build/release/benchmarks/pipeline_benchmark
// (BENCHMARKS.md, "How to reproduce").
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "allocation_count.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/executor.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/scheduler.hpp"
#include "fetchpipe/timer_task.hpp"
#include "fetchpipe/transports/memory_transport.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUrl = "http://s/x";  // fits the small-string buffer: the Request allocates nothing
constexpr int kFetches = 200;

struct Tally {
  int successes = 0;
  int failures = 0;
  int cancels = 0;
};

// Callbacks that capture one pointer: std::function keeps them without allocating.
Callbacks counting(Tally* tally) {
  return Callbacks{.on_success = [tally](Response) { ++tally->successes; },
                   .on_failure = [tally](Error) { ++tally->failures; },
                   .on_cancel = [tally](Error) { ++tally->cancels; }};
}

class AllocationBudgetTest : public ::testing::Test {
 protected:
  AllocationBudgetTest() {
    ClientOptions options;
    options.transport = memory_;
    options.retry_policy = std::make_shared<DefaultRetryPolicy>();
    options.backoff_policy = std::make_shared<ExponentialBackoff>(
        ExponentialBackoff::Options{.initial = 100ms, .jitter = Jitter::none, .seed = 1});
    options.callback_executor = std::make_shared<InlineExecutor>();
    options.scheduler = clock_;
    client_ = std::make_unique<Client>(std::move(options));  // the default retry budget is on
  }

  // Allocations per fetch of `one` (which runs one fetch to its end), after warm-up rounds that
  // grow the timer heap, the budget's origin entry and the like to their steady size.
  template <typename Fn>
  double allocations_per_fetch(Fn&& one) {
    for (int i = 0; i < 20; ++i) one();
    excluded_ = 0;
    std::uint64_t counted = 0;
    for (int i = 0; i < kFetches; ++i) {
      const std::uint64_t before = bench::allocation_count();
      one();
      counted += bench::allocation_count() - before;
    }
    return static_cast<double>(counted - excluded_) / kFetches;
  }

  // Runs `setup` (the test's own work inside a measured round) with its allocations left out.
  template <typename Fn>
  void not_counted(Fn&& setup) {
    const std::uint64_t before = bench::allocation_count();
    setup();
    excluded_ += bench::allocation_count() - before;
  }

  std::shared_ptr<ManualScheduler> clock_ = std::make_shared<ManualScheduler>();
  std::shared_ptr<MemoryTransport> memory_ =
      std::make_shared<MemoryTransport>(clock_, MemoryTransport::Options{.record_requests = false});
  std::unique_ptr<Client> client_;
  Tally tally_;
  std::uint64_t excluded_ = 0;
};

TEST_F(AllocationBudgetTest, SuccessfulFetchMakesAtMostThree) {
  memory_->script(kUrl, {Scripted::ok("hello")});
  const double per_fetch = allocations_per_fetch([&] {
    auto handle = client_->fetch(Request{.url = kUrl}, counting(&tally_));
    clock_->run_due();
  });
  EXPECT_EQ(tally_.successes, 20 + kFetches);
  EXPECT_LE(per_fetch, 3.0);
}

TEST_F(AllocationBudgetTest, FetchRetriedOnceMakesAtMostEight) {
  const double per_fetch = allocations_per_fetch([&] {
    // The script is the test's doing, not the pipeline's.
    not_counted([&] { memory_->script(kUrl, {Scripted::status_code(503), Scripted::ok("hello")}); });
    auto handle = client_->fetch(Request{.url = kUrl}, counting(&tally_));
    for (int timers = 0; timers < 100 && clock_->run_next(); ++timers) {
    }
  });
  EXPECT_EQ(tally_.successes, 20 + kFetches);
  EXPECT_EQ(client_->stats().retries, static_cast<std::uint64_t>(20 + kFetches));
  EXPECT_LE(per_fetch, 8.0);
}

TEST_F(AllocationBudgetTest, CancelledFetchMakesAtMostFive) {
  memory_->script(kUrl, {Scripted::hanging()});
  const double per_fetch = allocations_per_fetch([&] {
    auto handle = client_->fetch(Request{.url = kUrl}, counting(&tally_));
    clock_->run_due();
    handle.cancel();
    clock_->run_due();
  });
  EXPECT_EQ(tally_.cancels, 20 + kFetches);
  EXPECT_LE(per_fetch, 5.0);
}

// What the budget rests on: a timer closure that holds a std::shared_ptr costs a std::function an
// allocation, and TimerTask none.
TEST(TimerTaskAllocations, SharedPtrCaptureStaysInPlace) {
  auto state = std::make_shared<int>(0);
  const std::uint64_t before = bench::allocation_count();
  {
    TimerTask task([state] { ++*state; });
    task();
  }
  EXPECT_EQ(bench::allocation_count() - before, 0U);
  EXPECT_EQ(*state, 1);
  const std::uint64_t before_function = bench::allocation_count();
  {
    std::function<void()> fn([state] { ++*state; });
    fn();
  }
  EXPECT_EQ(bench::allocation_count() - before_function, 1U)
      << "std::function kept a shared_ptr capture in place: this test's premise no longer holds";
}

}  // namespace
}  // namespace fetchpipe
