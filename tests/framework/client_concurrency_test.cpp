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

// Samples the memory transport's in-flight count on a thread of its own; peak() stops it.
class InFlightPeak {
 public:
  explicit InFlightPeak(const MemoryTransport& memory)
      : thread_([this, &memory] {
          while (running_.load()) {
            const int now = memory.in_flight();
            for (int seen = peak_.load(); now > seen && !peak_.compare_exchange_weak(seen, now);) {
            }
            std::this_thread::yield();
          }
        }) {}
  InFlightPeak(const InFlightPeak&) = delete;
  InFlightPeak& operator=(const InFlightPeak&) = delete;
  ~InFlightPeak() { stop(); }
  int peak() {
    stop();
    return peak_.load();
  }

 private:
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<bool> running_{true};
  std::atomic<int> peak_{0};
  std::thread thread_;
};

// Follows `published` (how many items are ready) on a thread of its own and calls act(i) for
// each ready item the seeded coin picks (one in `one_in`), until all `n` were seen.
template <typename Act>
std::thread follow_published(const std::atomic<std::size_t>& published, std::size_t n, unsigned seed, unsigned one_in,
                             Act act) {
  return std::thread([&published, n, seed, one_in, act] {
    std::mt19937 rng(seed);
    for (std::size_t next = 0; next < n;) {
      if (next < published.load(std::memory_order_acquire)) {
        if (rng() % one_in == 0) act(next);
        ++next;
      } else {
        std::this_thread::yield();
      }
    }
  });
}

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
  {
    Client client(options);
    InFlightPeak in_flight(*r.memory);
    std::thread canceller = follow_published(published, kFetches, 11, 3, [&](std::size_t i) { handles[i].cancel(); });
    for (std::size_t i = 0; i < kFetches; ++i) {
      handles[i] = client.fetch({.url = "http://svc.test/limited"}, tally.callbacks(i));
      published.store(i + 1, std::memory_order_release);
    }
    canceller.join();
    ASSERT_TRUE(tally.wait_all(120s));
    for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << i;
    EXPECT_LE(in_flight.peak(), kLimit);
    EXPECT_GT(tally.cancels.load(), 0);
    EXPECT_GT(tally.successes.load(), 0);
    Tally last(1);
    client.fetch({.url = "http://svc.test/limited"}, last.callbacks(0));
    ASSERT_TRUE(last.wait_all(60s)) << "a slot leaked";
    EXPECT_EQ(last.successes.load(), 1);
  }
}

// Stops requested from another thread while fetch() is still taking its slot (between the gate
// handing a slot over and the fetch recording it, or queuing): one terminal callback each, and
// with a limit of 1 a single slot lost on any of those paths would hang the fetch at the end.
TEST(ClientConcurrency, StopsRacingAdmissionLoseNoSlot) {
  constexpr std::size_t kFetches = 3'000;
  RealClient r;
  auto quick = Scripted::ok("x");
  quick.latency = 20us;
  r.memory->script("http://svc.test/one", {quick});
  auto options = r.options();
  options.admission.max_per_origin = 1;
  options.admission.rate_per_second = 1e7;  // never binds, but every start passes the rate stage
  options.admission.rate_burst = 1000;
  Tally tally(kFetches);
  std::vector<std::stop_source> stops(kFetches);
  std::atomic<std::size_t> entering{0};  // fetch(i) is about to be called for every i < entering
  {
    Client client(options);
    InFlightPeak in_flight(*r.memory);
    std::thread stopper = follow_published(entering, kFetches, 7, 2, [&](std::size_t i) { stops[i].request_stop(); });
    std::vector<FetchHandle> handles;
    handles.reserve(kFetches);
    for (std::size_t i = 0; i < kFetches; ++i) {
      entering.store(i + 1, std::memory_order_release);
      handles.push_back(client.fetch({.url = "http://svc.test/one"}, tally.callbacks(i), stops[i].get_token()));
    }
    stopper.join();
    ASSERT_TRUE(tally.wait_all(120s));
    for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << i;
    EXPECT_LE(in_flight.peak(), 1);
    EXPECT_GT(tally.cancels.load(), 0);
    EXPECT_GT(tally.successes.load(), 0);
    Tally last(1);
    client.fetch({.url = "http://svc.test/one"}, last.callbacks(0));
    ASSERT_TRUE(last.wait_all(60s)) << "a slot leaked";
    EXPECT_EQ(last.successes.load(), 1);
  }
}

}  // namespace
}  // namespace fetchpipe
