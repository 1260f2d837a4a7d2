// CurlTransport with several event loops (Options::event_loops): work is spread over the loops,
// HTTP/2 exchanges of one origin stay on one loop, and cancel and destruction keep the callback
// contract (exactly one on_complete each) when exchanges run on different threads. The races
// these look for need repetition, and the suite is meant to run under tsan too.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "curl_test_support.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

namespace fetchpipe {
namespace {

using namespace curl_test;

class CurlEventLoopsTest : public CurlTransportTest {
 protected:
  static CurlTransport::Options two_loops() { return CurlTransport::Options{.event_loops = 2}; }
};

std::string rejection(const CurlTransport::Options& options) {
  try {
    CurlTransport transport(options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

TEST(CurlEventLoopsOptions, OutOfRange_IsRejectedNamingFieldAndValue) {
  EXPECT_EQ(rejection({.event_loops = 0}), "CurlTransport::Options::event_loops = 0: must be between 1 and 64");
  EXPECT_EQ(rejection({.event_loops = 65}), "CurlTransport::Options::event_loops = 65: must be between 1 and 64");
  EXPECT_EQ(rejection({.event_loops = 3, .max_total_connections = 2}),
            "CurlTransport::Options::max_total_connections = 2: must be 0 (unlimited) or at least event_loops (3)");
  EXPECT_NO_THROW(CurlTransport({.event_loops = 64}));
}

TEST_F(CurlEventLoopsTest, ManyConcurrentFetches_AllSucceedOnBothLoops) {
  CurlTransport transport(two_loops());
  for (int round = 0; round < 5; ++round) {
    std::vector<std::unique_ptr<Call>> calls;
    for (int i = 0; i < 200; ++i) {
      calls.push_back(std::make_unique<Call>(url("/bytes?n=3000")));
      calls.back()->exchange = transport.start(calls.back()->spec, calls.back()->recorder);
    }
    std::set<std::thread::id> threads;
    for (auto& call : calls) {
      const auto result = call->recorder->wait();
      ASSERT_FALSE(result.error) << result.message;
      ASSERT_EQ(call->recorder->body(), expected_bytes(3000));
      ASSERT_TRUE(call->recorder->order_ok());
      threads.insert(call->recorder->callback_thread());
    }
    EXPECT_EQ(threads.size(), 2u) << "HTTP/1.1 exchanges go round-robin over both loops";
  }
  EXPECT_EQ(transport.stats().exchanges_completed, 1000u);
  EXPECT_EQ(transport.stats().exchanges_started, 1000u);
}

TEST_F(CurlEventLoopsTest, Http2ExchangesOfOneOrigin_StayOnOneLoop) {
  // HTTP/2 on http:// is HTTP/1.1 on the wire (no Upgrade), but the choice of loop is made on the
  // version asked for: multiplexing needs every stream of an origin on one multi handle.
  CurlTransport transport({.event_loops = 2, .http_version = HttpVersion::http2});
  std::set<std::thread::id> threads;
  for (int i = 0; i < 20; ++i) {
    Call call(url("/fixed"));
    ASSERT_FALSE(call.run(transport).error);
    threads.insert(call.recorder->callback_thread());
  }
  EXPECT_EQ(threads.size(), 1u);
  // The same origin spelled with another case of the scheme still lands on that loop.
  std::string upper = url("/fixed");
  upper.replace(0, 4, "HTTP");
  Call call(upper);
  ASSERT_FALSE(call.run(transport).error);
  EXPECT_EQ(call.recorder->callback_thread(), *threads.begin());
}

TEST_F(CurlEventLoopsTest, Http1Override_GoesRoundRobinEvenWhenTheDefaultIsHttp2) {
  CurlTransport transport({.event_loops = 2, .http_version = HttpVersion::http2});
  std::set<std::thread::id> threads;
  for (int i = 0; i < 4; ++i) {
    Call call(url("/fixed"));
    call.request.overrides.http_version = HttpVersion::http1_1;
    ASSERT_FALSE(call.run(transport).error);
    threads.insert(call.recorder->callback_thread());
  }
  EXPECT_EQ(threads.size(), 2u);
}

TEST_F(CurlEventLoopsTest, CancelsFromOtherThreads_ExactlyOneCompletionEach) {
  constexpr int kExchanges = 600;
  for (int round = 0; round < 3; ++round) {
    CurlTransport transport(two_loops());
    std::vector<std::unique_ptr<Call>> calls;
    for (int i = 0; i < kExchanges; ++i) {
      calls.push_back(std::make_unique<Call>(url(i % 2 == 0 ? "/delay?ms=30" : "/hang"), 30s));
    }
    std::atomic<int> published{0};
    auto canceller = [&](unsigned seed) {
      std::mt19937 random(seed);
      while (published.load(std::memory_order_acquire) < kExchanges) {
        const int limit = published.load(std::memory_order_acquire);
        if (limit > 0) calls[std::uniform_int_distribution<int>(0, limit - 1)(random)]->exchange->cancel();
      }
    };
    std::thread first;
    std::thread second;
    for (int i = 0; i < kExchanges; ++i) {
      calls[i]->exchange = transport.start(calls[i]->spec, calls[i]->recorder);
      published.store(i + 1, std::memory_order_release);
      if (i == 50) {
        first = std::thread(canceller, 1u + round);
        second = std::thread(canceller, 100u + round);
      }
    }
    first.join();
    second.join();
    for (auto& call : calls) call->exchange->cancel();  // the hung ones, and repeats: no effect
    for (auto& call : calls) {
      const auto result = call->recorder->wait();
      ASSERT_TRUE(!result.error || *result.error == ErrorKind::cancelled) << result.message;
      ASSERT_EQ(call->recorder->completes(), 1);
    }
    EXPECT_EQ(transport.stats().exchanges_completed, static_cast<std::uint64_t>(kExchanges));
  }
}

TEST_F(CurlEventLoopsTest, Destructor_CancelsExchangesInFlightOnEveryLoop) {
  for (int round = 0; round < 10; ++round) {
    const std::string key = "loops-destructor-" + std::to_string(round);
    std::vector<std::unique_ptr<Call>> calls;
    auto transport = std::make_unique<CurlTransport>(CurlTransport::Options{.event_loops = 2});
    for (int i = 0; i < 40; ++i) {
      // Half wait at the server, half are still being started when the destructor runs.
      calls.push_back(std::make_unique<Call>(url(i < 20 ? "/hang?key=" + key : "/delay?ms=5")));
      calls.back()->exchange = transport->start(calls.back()->spec, calls.back()->recorder);
      if (i == 19) {
        ASSERT_TRUE(eventually([&] { return server_->count(key) == 20; }));
      }
    }
    transport.reset();
    for (auto& call : calls) {
      // Every observer call has finished when the destructor returned.
      ASSERT_EQ(call->recorder->completes(), 1);
      call->exchange->cancel();  // after destruction: harmless
    }
    for (int i = 0; i < 20; ++i) {
      const auto result = calls[i]->recorder->wait();
      ASSERT_TRUE(result.error);
      EXPECT_EQ(*result.error, ErrorKind::cancelled);
    }
  }
}

}  // namespace
}  // namespace fetchpipe
