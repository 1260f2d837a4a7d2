// Hedging across real threads, repeated thousands of times: legs answering, failing and losing
// at the same moments as cancels from another thread and the client's destruction. Exactly one
// terminal callback per fetch, streamed bytes from one attempt only, every exchange ended.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client_harness.hpp"
#include "fetchpipe/policies/fixed_hedging.hpp"
#include "terminal_tally.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using Tally = testing::TerminalTally;

constexpr int kUrls = 5;  // the last one never answers: a cancel always finds it running

std::string url_of(std::size_t i) { return "http://svc.test/h" + std::to_string(i % kUrls); }

Scripted after(std::chrono::nanoseconds latency, Scripted s) {
  s.latency = latency;
  return s;
}

struct HedgingClient {
  std::shared_ptr<RealScheduler> scheduler = std::make_shared<RealScheduler>();
  std::shared_ptr<MemoryTransport> memory =
      std::make_shared<MemoryTransport>(scheduler, MemoryTransport::Options{.record_requests = false});
  HedgingClient() {
    // Each URL cycles through answers that race the 100 us hedge delay in different ways: fast
    // and slow successes (with distinct bodies, in chunks), retryable failures that start the
    // next hedge at once, a non-retryable status, and a hang.
    const std::vector<Scripted> mixes[kUrls] = {
        {after(300us, Scripted::ok("AAAAAAAA", 4)), after(50us, Scripted::ok("BBBBBBBB", 4))},
        {after(80us, Scripted::status_code(503)), after(150us, Scripted::ok("CCCCCCCC", 2)),
         after(20us, Scripted::fault(ErrorKind::connection_reset))},
        {Scripted::hanging(), after(120us, Scripted::ok("DDDDDDDD", 4)), after(100us, Scripted::status_code(404))},
        {after(100us, Scripted::ok("EEEEEEEE", 8)), after(100us, Scripted::ok("FFFFFFFF", 8)),
         after(1ms, Scripted::ok("GGGGGGGG", 1))},
        {Scripted::hanging()},
    };
    for (int u = 0; u < kUrls; ++u) {
      std::vector<Scripted> cycle;
      for (int k = 0; k < 50; ++k) cycle.push_back(mixes[u][k % mixes[u].size()]);
      memory->script(url_of(static_cast<std::size_t>(u)), cycle);
    }
  }
  ClientOptions options() const {
    ClientOptions o;
    o.transport = memory;
    o.scheduler = scheduler;
    o.callback_executor = std::make_shared<ThreadPoolExecutor>(2);
    o.retry_policy = std::make_shared<DefaultRetryPolicy>();
    o.backoff_policy = std::make_shared<ConstantBackoff>(0ms);
    o.retry_budget = no_retry_budget();
    o.hedging = std::make_shared<FixedHedging>(FixedHedging::Options{.delay = 100us, .max_in_flight = 3});
    // A hang ends as a timeout when no hedge wins first; a fetch of the hanging URL lasts at
    // least this long, so the canceller, however far behind on a loaded machine, finds it running.
    o.timeouts.attempt = 300ms;
    return o;
  }
  void wait_idle() const {
    const auto limit = Clock::now() + 30s;
    while (memory->in_flight() != 0 && Clock::now() < limit) std::this_thread::sleep_for(1ms);
  }
};

// One body per scripted answer: a streamed fetch must have received exactly one of them.
bool is_one_body(const std::string& s) {
  return s.size() == 8 && s.find_first_not_of(s[0]) == std::string::npos;
}

TEST(ClientHedgingConcurrency, RacingLegsAndCancelsGiveOneTerminalAndOneAttemptsBytes) {
  constexpr std::size_t kFetches = 4'000;
  HedgingClient h;
  Tally tally(kFetches);
  std::vector<FetchHandle> handles(kFetches);
  std::vector<std::string> streamed(kFetches);
  std::vector<std::mutex> stream_mutex(kFetches);
  std::atomic<std::size_t> published{0};
  std::atomic<int> cancel_won{0};
  std::atomic<int> mixed_bytes{0};
  std::atomic<int> too_many_attempts{0};
  {
    Client client(h.options());
    std::thread canceller([&] {
      std::mt19937 rng(11);
      std::size_t next = 0;
      while (next < kFetches) {
        const auto upto = published.load(std::memory_order_acquire);
        for (; next < upto; ++next) {
          if (rng() % 3 == 0 || url_of(next) == url_of(kUrls - 1)) {
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400));
            if (handles[next].cancel()) cancel_won.fetch_add(1);
          }
        }
        std::this_thread::yield();
      }
    });
    for (std::size_t i = 0; i < kFetches; ++i) {
      auto cb = tally.callbacks(i);
      const bool stream = i % 2 == 0;
      if (stream) {
        cb.on_chunk = [&, i](std::string_view chunk) {
          std::lock_guard lock(stream_mutex[i]);
          streamed[i].append(chunk);
        };
        cb.on_rewind = [&, i] {
          std::lock_guard lock(stream_mutex[i]);
          streamed[i].clear();
        };
      }
      auto on_success = cb.on_success;
      cb.on_success = [&, i, stream, on_success](Response r) {
        if (r.attempts.size() > 4) too_many_attempts.fetch_add(1);
        if (stream) {
          std::lock_guard lock(stream_mutex[i]);
          if (!is_one_body(streamed[i])) mixed_bytes.fetch_add(1);
        } else if (!is_one_body(r.body)) {
          mixed_bytes.fetch_add(1);
        }
        on_success(std::move(r));
      };
      handles[i] = client.fetch({.url = url_of(i)}, cb);
      published.store(i + 1, std::memory_order_release);
      if (i % 64 == 0) std::this_thread::sleep_for(200us);  // let hedges and answers interleave
    }
    canceller.join();
    ASSERT_TRUE(tally.wait_all(120s)) << "some fetch never ended";
    EXPECT_GT(client.stats().hedges, kFetches / 10) << "few hedges: the race was not exercised";
  }
  for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << "fetch " << i;
  EXPECT_EQ(tally.cancels.load(), cancel_won.load());
  EXPECT_EQ(mixed_bytes.load(), 0) << "a body mixed the bytes of two attempts";
  EXPECT_EQ(too_many_attempts.load(), 0) << "hedges went past max_attempts";
  EXPECT_GT(tally.successes.load(), 0);
  EXPECT_GT(cancel_won.load(), 0) << "no cancel raced a hedge: the race was not exercised";
  h.wait_idle();
  EXPECT_EQ(h.memory->in_flight(), 0) << "an exchange was left running";
}

TEST(ClientHedgingConcurrency, DestroyingTheClientWithHedgesInFlightEndsEveryFetchOnce) {
  for (int round = 0; round < 5; ++round) {
    constexpr std::size_t kFetches = 1'000;
    HedgingClient h;
    Tally tally(kFetches);
    {
      Client client(h.options());
      for (std::size_t i = 0; i < kFetches; ++i) {
        client.fetch({.url = url_of(i)}, tally.callbacks(i));
        if (i % 100 == 0) std::this_thread::sleep_for(300us);
      }
    }
    tally.client_gone = true;
    for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << "round " << round << " fetch " << i;
    EXPECT_EQ(tally.after_client_gone.load(), 0);
    h.wait_idle();
    EXPECT_EQ(h.memory->in_flight(), 0);
  }
}

}  // namespace
}  // namespace fetchpipe
