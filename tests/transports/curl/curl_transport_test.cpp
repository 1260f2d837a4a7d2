// Integration tests of CurlTransport against the in-process fault server. They drive the
// transport directly (no pipeline) with a recording observer; every wait is bounded, and timing
// checks use generous windows because test machines are noisy.
#include "fetchpipe/transports/curl_transport.hpp"

#include <gtest/gtest.h>

#include "curl_test_support.hpp"
#include "loopback.hpp"
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/tools/test_certificates.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using tools::FaultServer;

using namespace curl_test;


TEST_F(CurlTransportTest, Get_StreamsBodyInOrderOnTheLoopThread) {
  Call call(url("/bytes?n=200000"));
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->head().status, 200);
  EXPECT_EQ(call.recorder->head().headers.get("content-length"), "200000");
  EXPECT_EQ(call.recorder->body(), expected_bytes(200000));
  EXPECT_GT(call.recorder->chunks(), 1);
  EXPECT_EQ(call.recorder->heads(), 1);
  EXPECT_TRUE(call.recorder->order_ok());
  EXPECT_NE(call.recorder->callback_thread(), std::this_thread::get_id());
}

TEST_F(CurlTransportTest, ChunkedBody_StreamsInOrder) {
  Call call(url("/bytes?n=100000&chunked=1"));
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->body(), expected_bytes(100000));
  EXPECT_TRUE(call.recorder->order_ok());
}

TEST_F(CurlTransportTest, StatusCodes_AreReportedNotErrors) {
  for (int code : {201, 204, 302, 404, 429, 503}) {
    Call call(url("/status?code=" + std::to_string(code) + "&retry_after=7"));
    const auto result = call.run(transport_);
    ASSERT_FALSE(result.error) << code << ": " << result.message;
    EXPECT_EQ(call.recorder->head().status, code);
    EXPECT_EQ(call.recorder->heads(), 1);
    EXPECT_EQ(call.recorder->head().headers.get("Retry-After"), "7");
  }
}

TEST_F(CurlTransportTest, ConnectRefused_IsConnectFailureWithCurlsMessage) {
  Call call("http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/");
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::connect_failure) << result.message;
  EXPECT_TRUE(result.message.starts_with("curl: ")) << result.message;
  EXPECT_EQ(call.recorder->heads(), 0);
}

TEST_F(CurlTransportTest, Reset_IsConnectionReset) {
  Call call(url("/reset"));
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::connection_reset) << result.message;
}

TEST_F(CurlTransportTest, Truncate_IsConnectionResetAfterHeadAndPartialBody) {
  Call call(url("/truncate?n=1000&sent=100"));
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::connection_reset) << result.message;
  EXPECT_EQ(call.recorder->heads(), 1);
  EXPECT_EQ(call.recorder->body().size(), 100u);
}

TEST_F(CurlTransportTest, HangPastDeadline_IsAttemptTimeout) {
  Call call(url("/hang"), 300ms);
  const auto begin = Clock::now();
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::attempt_timeout) << result.message;
  // The loop arms a timer for the deadline itself (ms resolution, woken at or after it): never
  // early, and late only by scheduling noise.
  EXPECT_GE(call.recorder->completed_at(), call.spec.deadline);
  EXPECT_LT(call.recorder->completed_at(), call.spec.deadline + kLateness) << ms_between(begin, call.recorder->completed_at()).count() << " ms";
}

TEST_F(CurlTransportTest, DeadlineCoversTheBody) {
  Call call(url("/drip?n=100&interval_ms=100&chunk=10"), 400ms);
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::attempt_timeout) << result.message;
  EXPECT_EQ(call.recorder->heads(), 1);
}

TEST_F(CurlTransportTest, DripSlowerThanStallTimeout_IsStallTimeout) {
  Call call(url("/drip?n=100&interval_ms=2000&chunk=10"));
  call.spec.stall_timeout = 200ms;
  const auto begin = Clock::now();
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::stall_timeout) << result.message;
  // The clock starts as the request goes out and restarts with the head: it fires 200 ms after
  // the head, never before begin + 200 ms.
  const auto took = ms_between(begin, call.recorder->completed_at());
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 200ms + kLateness);
}

// A TCP connect that never completes: a 127.0.0.1 listener with backlog 0 that never accepts,
// its accept queue already full, drops further SYNs, so the connect just waits.
TEST_F(CurlTransportTest, ConnectThatNeverCompletes_IsConnectTimeoutAtTheConnectClock) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    fillers.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ::connect(fillers.back(), reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  pollfd first{fillers[0], POLLOUT, 0};
  ASSERT_EQ(::poll(&first, 1, 5000), 1) << "the first filler should complete and fill the queue";

  Call call("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/x");
  call.spec.connect_timeout = 300ms;
  const auto begin = Clock::now();
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::connect_timeout) << result.message;
  const auto took = ms_between(begin, call.recorder->completed_at());
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 300ms + kLateness);
  for (const int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_F(CurlTransportTest, DripFasterThanStallTimeout_Succeeds) {
  Call call(url("/drip?n=50&interval_ms=50&chunk=10"));
  call.spec.stall_timeout = 500ms;
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->body(), expected_bytes(50));
}

TEST_F(CurlTransportTest, CancelOfHungExchange_CompletesCancelledWithin100ms) {
  Call call(url("/hang?key=cancel-hung"));
  call.exchange = transport_.start(call.spec, call.recorder);
  ASSERT_TRUE(eventually([] { return server_->count("cancel-hung") == 1; }));
  const auto cancelled_at = Clock::now();
  call.exchange->cancel();
  ASSERT_TRUE(call.recorder->done_within(2s));
  const auto result = call.recorder->wait();
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::cancelled);
  EXPECT_LT(ms_between(cancelled_at, call.recorder->completed_at()), 100ms);
  call.exchange->cancel();  // idempotent
}

TEST_F(CurlTransportTest, CancelAfterCompletion_IsANoOp) {
  Call call(url("/fixed"));
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  call.exchange->cancel();
  call.exchange->cancel();
  // A later exchange through the same loop proves the cancels were processed, and nothing more.
  Call after(url("/fixed"));
  ASSERT_FALSE(after.run(transport_).error);
  EXPECT_EQ(call.recorder->completes(), 1);
  EXPECT_FALSE(call.recorder->wait().error);
}

TEST_F(CurlTransportTest, CancelBeforeTheLoopRuns_CompletesCancelled) {
  Call call(url("/fixed"));
  call.exchange = transport_.start(call.spec, call.recorder);
  call.exchange->cancel();
  const auto result = call.recorder->wait();
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::cancelled);
  EXPECT_EQ(call.recorder->completes(), 1);
}

TEST_F(CurlTransportTest, OnBodyReturningFalse_StopsAsCancelled) {
  Call call(url("/bytes?n=5000000"));
  call.recorder->stop_after_bytes = 1;
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::cancelled) << result.message;
  EXPECT_EQ(call.recorder->chunks(), 1);
  EXPECT_LT(call.recorder->body().size(), 5000000u);
}

TEST_F(CurlTransportTest, BodyLimit_RefusedByContentLength) {
  Call call(url("/bytes?n=10000"));
  call.spec.max_body_bytes = 1000;
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::body_too_large) << result.message;
  EXPECT_EQ(call.recorder->body().size(), 0u);
}

TEST_F(CurlTransportTest, BodyLimit_EnforcedWhileStreamingChunked) {
  Call call(url("/bytes?n=100000&chunked=1"));
  call.spec.max_body_bytes = 1000;
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::body_too_large) << result.message;
  EXPECT_LE(call.recorder->body().size(), 1000u);
}

TEST_F(CurlTransportTest, BodyAtTheLimit_Succeeds) {
  Call call(url("/bytes?n=1000&chunked=1"));
  call.spec.max_body_bytes = 1000;
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->body().size(), 1000u);
}

TEST_F(CurlTransportTest, Post_SendsMethodHeadersAndBodyAsGiven) {
  Call call(url("/echo"));
  call.request.method = "POST";
  call.request.headers = {{"X-Fetchpipe-Test", "yes"}, {"X-Empty", ""}};
  call.request.body = std::string(3000, 'p');  // above libcurl's Expect: 100-continue threshold
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  const std::string echo = call.recorder->body();
  EXPECT_TRUE(echo.starts_with("method POST\n")) << echo;
  EXPECT_NE(echo.find("header X-Fetchpipe-Test: yes\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("header X-Empty: \n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("body-length 3000\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("\n\n" + std::string(3000, 'p')), std::string::npos);
  EXPECT_EQ(echo.find("Expect:"), std::string::npos) << echo;
  EXPECT_EQ(echo.find("Content-Type:"), std::string::npos) << echo;
  EXPECT_EQ(echo.find("Accept-Encoding:"), std::string::npos) << echo;
}

TEST_F(CurlTransportTest, OtherMethods_AreSentAsGiven) {
  struct Case {
    const char* method;
    const char* body;
  };
  for (const Case& c : {Case{"PUT", "put-body"}, Case{"PATCH", ""}, Case{"DELETE", ""},
                        Case{"DELETE", "del-body"}, Case{"OPTIONS", ""}, Case{"GET", ""}}) {
    Call call(url("/echo"));
    call.request.method = c.method;
    call.request.body = c.body;
    call.request.headers = {{"Content-Type", "application/json"}};
    const auto result = call.run(transport_);
    ASSERT_FALSE(result.error) << c.method << ": " << result.message;
    const std::string echo = call.recorder->body();
    EXPECT_TRUE(echo.starts_with(std::string("method ") + c.method + "\n")) << echo;
    EXPECT_NE(echo.find("body-length " + std::to_string(std::strlen(c.body)) + "\n"), std::string::npos) << echo;
    EXPECT_NE(echo.find("header Content-Type: application/json\n"), std::string::npos) << echo;
  }
}

TEST_F(CurlTransportTest, Head_HasStatusAndNoBody) {
  Call call(url("/fixed"));
  call.request.method = "HEAD";
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->head().status, 200);
  EXPECT_EQ(call.recorder->body(), "");
}

TEST_F(CurlTransportTest, SequentialRequests_ReuseOneConnection) {
  for (int i = 0; i < 100; ++i) {
    Call call(url("/fixed"));
    const auto result = call.run(transport_);
    ASSERT_FALSE(result.error) << result.message;
    ASSERT_EQ(call.recorder->body(), "hello from fetchpipe\n");
  }
  EXPECT_EQ(transport_.stats().connections_opened, 1u);
  EXPECT_EQ(transport_.stats().exchanges_completed, 100u);
}

class CurlTransportTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("fetchpipe-curl-tls-" + std::to_string(::getpid()));
    certs_ = tools::make_test_certificates(dir_ / "trusted");
    untrusted_ = tools::make_test_certificates(dir_ / "untrusted");
    server_ = new FaultServer({.tls = true,
                               .tls_cert_file = certs_.server_cert_file,
                               .tls_key_file = certs_.server_key_file});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::filesystem::remove_all(dir_);
  }

  static std::filesystem::path dir_;
  static tools::TestCertificates certs_;
  static tools::TestCertificates untrusted_;
  static FaultServer* server_;
  CurlTransport transport_;
};

std::filesystem::path CurlTransportTlsTest::dir_;
tools::TestCertificates CurlTransportTlsTest::certs_;
tools::TestCertificates CurlTransportTlsTest::untrusted_;
FaultServer* CurlTransportTlsTest::server_ = nullptr;

TEST_F(CurlTransportTlsTest, Https_VerifiesAgainstTheGeneratedCa) {
  Call call(server_->tls_url("/fixed"));
  call.tls.ca_file = certs_.ca_cert_file.string();
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->head().status, 200);
  EXPECT_EQ(call.recorder->body(), "hello from fetchpipe\n");
}

TEST_F(CurlTransportTlsTest, Https_UntrustedCertificate_IsTlsFailure) {
  Call call(server_->tls_url("/fixed"));
  call.tls.ca_file = untrusted_.ca_cert_file.string();
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::tls_failure) << result.message;
  EXPECT_EQ(call.recorder->heads(), 0);
}

TEST_F(CurlTransportTest, Destructor_CancelsEveryExchangeInFlight) {
  std::vector<std::unique_ptr<Call>> calls;
  auto transport = std::make_unique<CurlTransport>();
  for (int i = 0; i < 100; ++i) {
    calls.push_back(std::make_unique<Call>(url("/hang?key=destructor")));
    calls.back()->exchange = transport->start(calls.back()->spec, calls.back()->recorder);
  }
  ASSERT_TRUE(eventually([] { return server_->count("destructor") == 100; }));
  const auto begin = Clock::now();
  transport.reset();
  EXPECT_LT(ms_between(begin, Clock::now()), 1000ms);
  for (auto& call : calls) {
    // Every observer call has finished when the destructor returned: no waiting needed.
    ASSERT_EQ(call->recorder->completes(), 1);
    const auto result = call->recorder->wait();
    ASSERT_TRUE(result.error);
    EXPECT_EQ(*result.error, ErrorKind::cancelled);
    call->exchange->cancel();  // after destruction: must be harmless
  }
}

TEST_F(CurlTransportTest, Stress_CancelsFromOtherThreads_ExactlyOneCompletionEach) {
  constexpr int kExchanges = 2000;
  std::atomic<int> completed{0};
  std::mutex mutex;
  std::condition_variable all_done;

  // Counts completions per exchange; any second call is recorded as a failure.
  class Counter final : public ExchangeObserver {
   public:
    Counter(std::atomic<int>& total, std::mutex& m, std::condition_variable& cv)
        : total_(total), mutex_(m), cv_(cv) {}
    void on_head(ResponseHead) override {}
    bool on_body(std::string_view) override { return true; }
    void on_complete(ExchangeResult r) override {
      calls.fetch_add(1);
      ok = !r.error || *r.error == ErrorKind::cancelled;
      if (total_.fetch_add(1) + 1 == kExchanges) {
        std::lock_guard lock(mutex_);
        cv_.notify_all();
      }
    }
    std::atomic<int> calls{0};
    std::atomic<bool> ok{false};

   private:
    std::atomic<int>& total_;
    std::mutex& mutex_;
    std::condition_variable& cv_;
  };

  Request request{.url = url("/delay?ms=50")};
  TlsOptions tls;
  ExchangeSpec spec{.request = &request, .deadline = Clock::now() + 60s, .tls = &tls};
  std::vector<std::shared_ptr<Counter>> counters;
  std::vector<std::shared_ptr<Exchange>> exchanges(kExchanges);
  for (int i = 0; i < kExchanges; ++i) counters.push_back(std::make_shared<Counter>(completed, mutex, all_done));

  std::atomic<int> published{0};
  auto canceller = [&](unsigned seed) {
    std::mt19937 random(seed);
    for (int n = 0; n < kExchanges / 2; ++n) {
      const int limit = published.load(std::memory_order_acquire);
      if (limit == 0) {
        std::this_thread::yield();
        continue;
      }
      exchanges[std::uniform_int_distribution<int>(0, limit - 1)(random)]->cancel();
    }
  };
  std::vector<std::shared_ptr<Exchange>> started;
  std::thread first;
  std::thread second;
  for (int i = 0; i < kExchanges; ++i) {
    exchanges[i] = transport_.start(spec, counters[i]);
    published.store(i + 1, std::memory_order_release);
    if (i == 100) {
      first = std::thread(canceller, 1u);
      second = std::thread(canceller, 2u);
    }
  }
  first.join();
  second.join();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, 60s, [&] { return completed.load() == kExchanges; }))
        << completed.load() << " of " << kExchanges << " completed";
  }
  int cancelled_or_ok = 0;
  for (const auto& counter : counters) {
    EXPECT_EQ(counter->calls.load(), 1);
    cancelled_or_ok += counter->ok.load() ? 1 : 0;
  }
  EXPECT_EQ(cancelled_or_ok, kExchanges);
  for (auto& exchange : exchanges) exchange->cancel();  // all finished: no effect
  EXPECT_EQ(transport_.stats().exchanges_completed, static_cast<std::uint64_t>(kExchanges));
}

TEST(CurlTransportOptions, InvalidOption_IsRejectedWithItsName) {
  try {
    CurlTransport transport({.connections_per_shard = 0});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("connections_per_shard"), std::string::npos) << e.what();
  }
}

TEST(CurlTransportIdle, IdleTransport_UsesNoCpu) {
  CurlTransport transport;
  std::this_thread::sleep_for(50ms);  // let the loop reach its blocking wait
  const std::clock_t before = std::clock();
  std::this_thread::sleep_for(300ms);
  const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - before) / CLOCKS_PER_SEC;
  EXPECT_LT(cpu_ms, 20.0);
}

}  // namespace
}  // namespace fetchpipe
