// Thousands of concurrent fetches with cancels from other threads: exactly one terminal callback
// each, through real transports against the fault server.
#include <gtest/gtest.h>

#include "terminal_tally.hpp"
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <random>
#include <thread>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/constant_backoff.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "fetchpipe/transports/httplib_transport.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;

// The open-file limit here is 20,000 hard; the default soft limit is often 1,024.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

using Tally = testing::TerminalTally;

void run_stress(std::shared_ptr<Transport> transport, std::size_t fetches, const std::string& url) {
  raise_open_file_limit();
  ClientOptions options;
  options.transport = std::move(transport);
  options.retry_policy = std::make_shared<DefaultRetryPolicy>();
  options.backoff_policy = std::make_shared<ConstantBackoff>(5ms);
  options.timeouts.attempt = 60s;
  options.callback_executor = std::make_shared<ThreadPoolExecutor>(2);
  Tally tally(fetches);
  std::vector<FetchHandle> handles(fetches);
  std::atomic<std::size_t> published{0};
  {
    Client client(options);
    auto canceller = [&](unsigned seed) {
      std::mt19937 rng(seed);
      std::size_t next = 0;
      while (next < fetches) {
        const auto upto = published.load(std::memory_order_acquire);
        for (; next < upto; ++next) {
          if (rng() % 3 == 0) handles[next].cancel();  // both threads race on the same handles
        }
        std::this_thread::yield();
      }
    };
    std::thread a(canceller, 1);
    std::thread b(canceller, 2);
    for (std::size_t i = 0; i < fetches; ++i) {
      handles[i] = client.fetch({.url = url}, tally.callbacks(i));
      published.store(i + 1, std::memory_order_release);
    }
    a.join();
    b.join();
    ASSERT_TRUE(tally.wait_all(300s)) << "some fetch never ended";
    const auto stats = client.stats();
    EXPECT_EQ(stats.started, fetches);
    EXPECT_EQ(stats.in_flight, 0u);
    EXPECT_EQ(stats.succeeded + stats.failed + stats.cancelled, fetches);
  }
  for (std::size_t i = 0; i < fetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1) << "fetch " << i;
  EXPECT_GT(tally.cancels.load(), 0);
  EXPECT_GT(tally.successes.load(), 0);
  EXPECT_EQ(tally.failures.load(), 0) << "nothing but a cancel may stop these fetches";
}

TEST(Stress, TwoThousandConcurrentFetchesOnOneCurlTransportWithRandomCancels) {
  tools::FaultServer server;
  run_stress(std::make_shared<CurlTransport>(), 2'000, server.url("/delay?ms=200"));
}

TEST(Stress, ConcurrentFetchesOnTheHttplibPoolWithRandomCancels) {
  tools::FaultServer server;
  run_stress(std::make_shared<HttplibTransport>(HttplibTransport::Options{.workers = 32}), 1'000,
             server.url("/delay?ms=20"));
}

TEST(Stress, DestroyingTheClientWithThousandsInFlightOnCurl) {
  raise_open_file_limit();
  tools::FaultServer server;
  for (int round = 0; round < 3; ++round) {
    constexpr std::size_t kFetches = 2'000;
    Tally tally(kFetches);
    {
      ClientOptions options;
      options.transport = std::make_shared<CurlTransport>();
      options.retry_policy = std::make_shared<DefaultRetryPolicy>();
      options.backoff_policy = std::make_shared<ConstantBackoff>(5ms);
      Client client(options);
      for (std::size_t i = 0; i < kFetches; ++i) {
        client.fetch({.url = server.url(i % 2 ? "/hang" : "/delay?ms=50")}, tally.callbacks(i));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * round));  // vary the moment of destruction
    }
    std::lock_guard lock(tally.mutex);
    ASSERT_EQ(tally.ended, kFetches) << "round " << round << ": the destructor returned early";
    for (std::size_t i = 0; i < kFetches; ++i) ASSERT_EQ(tally.per_fetch[i].load(), 1);
  }
}

}  // namespace
}  // namespace fetchpipe
