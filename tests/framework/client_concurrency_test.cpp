// Cross-thread paths, repeated thousands of times: exactly one terminal callback, always.
#include <gtest/gtest.h>

#include "terminal_tally.hpp"

#include <atomic>
#include <condition_variable>
#include <random>
#include <thread>

#include "client_harness.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;

using Tally = testing::TerminalTally;

struct RealClient {
  std::shared_ptr<RealScheduler> scheduler = std::make_shared<RealScheduler>();
  std::shared_ptr<MemoryTransport> memory =
      std::make_shared<MemoryTransport>(scheduler, MemoryTransport::Options{.record_requests = false});
  ClientOptions options() const {
    ClientOptions o;
    o.transport = memory;
    o.scheduler = scheduler;
    o.callback_executor = std::make_shared<ThreadPoolExecutor>(2);
    o.retry_policy = std::make_shared<DefaultRetryPolicy>();
    o.backoff_policy = std::make_shared<ConstantBackoff>(0ms);
    return o;
  }
};

TEST(ClientConcurrency, CancelRacingCompletionGivesExactlyOneTerminalCallback) {
  constexpr std::size_t kFetches = 10'000;
  RealClient r;
  auto quick = Scripted::ok("x");
  quick.latency = 20us;
  r.memory->script("http://svc.test/race", {Scripted::status_code(503), quick});
  Tally tally(kFetches);
  std::vector<FetchHandle> handles(kFetches);
  std::atomic<std::size_t> published{0};
  std::vector<Clock::time_point> started(kFetches);
  std::atomic<std::size_t> handled{0};
  std::atomic<int> cancel_won{0};   // cancel() decided the fetch
  std::atomic<int> cancel_lost{0};  // the fetch had completed first
  {
    Client client(r.options());
    std::thread canceller([&] {
      std::mt19937 rng(7);
      std::size_t next = 0;
      while (next < kFetches) {
        const auto upto = published.load(std::memory_order_acquire);
        for (; next < upto; ++next) {
          const auto choice = rng() % 4;
          if (choice != 0) {
            // Cancel at a random moment from 0 to about three exchange times after the fetch
            // started: early ones beat completion, late ones lose to it, and the ones between
            // race it. Both orders happen in every run (asserted below).
            const auto until = started[next] + std::chrono::microseconds(rng() % 300);
            while (Clock::now() < until) {
            }
            (handles[next].cancel() ? cancel_won : cancel_lost).fetch_add(1);
          }
          handled.store(next + 1, std::memory_order_release);
        }
        std::this_thread::yield();
      }
    });
    for (std::size_t i = 0; i < kFetches; ++i) {
      // Keep the canceller close behind, so its moment is measured from the fetch's own start.
      for (int spin = 0; handled.load(std::memory_order_acquire) + 4 < i && spin < 10'000'000; ++spin) {
        std::this_thread::yield();
      }
      started[i] = Clock::now();
      handles[i] = client.fetch({.url = "http://svc.test/race"}, tally.callbacks(i));
      published.store(i + 1, std::memory_order_release);
    }
    canceller.join();
    ASSERT_TRUE(tally.wait_all(60s)) << "some fetch never ended";
  }
  for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << "fetch " << i;
  EXPECT_EQ(tally.successes + tally.failures + tally.cancels, static_cast<int>(kFetches));
  EXPECT_EQ(tally.cancels.load(), cancel_won.load()) << "on_cancel ran exactly for the cancels that won";
  EXPECT_GT(cancel_won.load(), 0) << "cancel never beat completion: the race was not exercised";
  EXPECT_GT(cancel_lost.load(), 0) << "completion never beat cancel: the race was not exercised";
  for (auto& h : handles) EXPECT_FALSE(h.cancel()) << "every fetch is decided";
}

TEST(ClientConcurrency, CancelFromTwoThreadsDecidesOnce) {
  constexpr std::size_t kFetches = 5'000;
  RealClient r;
  r.memory->script("http://svc.test/hang", {Scripted::hanging()});
  Tally tally(kFetches);
  std::atomic<int> cancel_wins{0};
  {
    Client client(r.options());
    for (std::size_t i = 0; i < kFetches; ++i) {
      auto h = client.fetch({.url = "http://svc.test/hang"}, tally.callbacks(i));
      std::thread a([&, h] { cancel_wins += h.cancel() ? 1 : 0; });
      std::thread b([&, h] { cancel_wins += h.cancel() ? 1 : 0; });
      a.join();
      b.join();
    }
    ASSERT_TRUE(tally.wait_all(60s));
  }
  EXPECT_EQ(cancel_wins.load(), static_cast<int>(kFetches));
  EXPECT_EQ(tally.cancels.load(), static_cast<int>(kFetches));
  // on_cancel does not wait for the transport; the aborted exchanges end on the timer thread
  // soon after. Every one of them must end (bounded wait).
  const auto limit = Clock::now() + 30s;
  while (r.memory->in_flight() != 0 && Clock::now() < limit) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(r.memory->in_flight(), 0);
}

TEST(ClientConcurrency, DestroyingWithAThousandInFlightEndsEveryFetchFirst) {
  for (int round = 0; round < 5; ++round) {
    constexpr std::size_t kFetches = 1'000;
    RealClient r;
    auto slow = Scripted::ok("x");
    slow.latency = 1ms;
    r.memory->script("http://svc.test/mixed", {Scripted::hanging(), slow, Scripted::status_code(503)});
    Tally tally(kFetches);
    {
      Client client(r.options());
      for (std::size_t i = 0; i < kFetches; ++i) {
        client.fetch({.url = "http://svc.test/mixed"}, tally.callbacks(i));
      }
    }
    tally.client_gone = true;
    std::lock_guard lock(tally.mutex);
    ASSERT_EQ(tally.ended, kFetches) << "round " << round;
    for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1);
    EXPECT_EQ(tally.after_client_gone.load(), 0);
  }
}

TEST(ClientConcurrency, FetchAndCancelFromInsideCallbacks) {
  RealClient r;
  r.memory->script("http://svc.test/ok", {Scripted::ok()});
  r.memory->script("http://svc.test/hang", {Scripted::hanging()});
  Client client(r.options());
  constexpr int kChains = 500;
  Tally tally(kChains);
  for (int i = 0; i < kChains; ++i) {
    client.fetch({.url = "http://svc.test/ok"}, {.on_success = [&, i](Response) {
      // From inside a callback: start a fetch and cancel it.
      auto h = client.fetch({.url = "http://svc.test/hang"}, tally.callbacks(static_cast<std::size_t>(i)));
      h.cancel();
    }});
  }
  ASSERT_TRUE(tally.wait_all(60s));
  EXPECT_EQ(tally.cancels.load(), kChains);
}

// Admission across threads: slots handed from transport threads, cancels from another thread,
// the queue drained by completions: one terminal callback each, the limit never passed, and no
// slot leaked (a fetch after it all is admitted at once).
TEST(ClientConcurrency, PerOriginLimitHoldsUnderCancelsFromAnotherThread) {
  constexpr std::size_t kFetches = 3'000;
  constexpr int kLimit = 3;
  RealClient r;
  auto quick = Scripted::ok("x");
  quick.latency = 50us;
  r.memory->script("http://svc.test/limited", {quick});
  auto options = r.options();
  options.admission.max_per_origin = kLimit;
  Tally tally(kFetches);
  std::vector<FetchHandle> handles(kFetches);
  std::atomic<std::size_t> published{0};
  std::atomic<int> most_in_flight{0};
  std::atomic<bool> sampling{true};
  {
    Client client(options);
    std::thread sampler([&] {
      while (sampling.load()) {
        const int now = r.memory->in_flight();
        for (int seen = most_in_flight.load(); now > seen && !most_in_flight.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::yield();
      }
    });
    std::thread canceller([&] {
      std::mt19937 rng(11);
      for (std::size_t next = 0; next < kFetches;) {
        if (next < published.load(std::memory_order_acquire)) {
          if (rng() % 3 == 0) handles[next].cancel();
          ++next;
        } else {
          std::this_thread::yield();
        }
      }
    });
    for (std::size_t i = 0; i < kFetches; ++i) {
      handles[i] = client.fetch({.url = "http://svc.test/limited"}, tally.callbacks(i));
      published.store(i + 1, std::memory_order_release);
    }
    canceller.join();
    ASSERT_TRUE(tally.wait_all(120s));
    sampling = false;
    sampler.join();
    for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << i;
    EXPECT_LE(most_in_flight.load(), kLimit);
    EXPECT_GT(tally.cancels.load(), 0);
    EXPECT_GT(tally.successes.load(), 0);
    Tally last(1);
    client.fetch({.url = "http://svc.test/limited"}, last.callbacks(0));
    ASSERT_TRUE(last.wait_all(60s)) << "a slot leaked";
    EXPECT_EQ(last.successes.load(), 1);
  }
}

}  // namespace
}  // namespace fetchpipe
