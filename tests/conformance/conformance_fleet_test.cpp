// The fleet mechanisms through the real transports: a budget refusal, a breaker's open, half-open
// and close, and a per-origin limit holding over 1,000 fetches — against the fault server.
#include <algorithm>
#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "fetchpipe/consecutive_failure_breaker.hpp"
#include "fetchpipe/token_retry_budget.hpp"
#include "fetchpipe/url.hpp"
#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceFleet : public ServerSuite {};

TEST_P(ConformanceFleet, ARefusedRetryIsNeverSent) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) {
    o.retry_budget = std::make_shared<TokenRetryBudget>(TokenRetryBudget::Options{.ratio = 0, .min_per_second = 0});
  });
  const auto out = run.fetch({.url = url("/status?code=503&key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->status, 503);
  EXPECT_EQ(out.error->reason, GiveUpReason::budget_exhausted);
  EXPECT_EQ(server().count(key), 1);
}

TEST_P(ConformanceFleet, TheBreakerOpensProbesOnceAndCloses) {
  const auto key = test_key();
  constexpr auto kOpenFor = 300ms;
  auto breaker = std::make_shared<ConsecutiveFailureBreaker>(
      ConsecutiveFailureBreaker::Options{.consecutive_failures = 2, .open_for = kOpenFor});
  Runner run(GetParam(), [&](ClientOptions& o) { o.circuit_breaker = breaker; }, {.max_attempts = 1});
  for (int i = 0; i < 2; ++i) EXPECT_EQ(run.fetch({.url = url("/status?code=503&key=" + key)}).terminal, "failure");
  ASSERT_EQ(server().count(key), 2);

  const auto open = run.fetch({.url = url("/fixed?key=" + key + ".open")});
  EXPECT_EQ(open.kind(), ErrorKind::circuit_open);
  EXPECT_EQ(open.error->reason, GiveUpReason::circuit_open);
  EXPECT_EQ(server().count(key + ".open"), 0) << "nothing is sent while open";

  std::this_thread::sleep_for(kOpenFor + 100ms);
  // The first fetch after the open period is the probe (admitted inside fetch(), on this
  // thread); every other fetch while it is out fails at once.
  auto probe = run.start({.url = url("/delay?ms=400&key=" + key + ".probe")});
  for (int i = 0; i < 5; ++i) {
    const auto rejected = run.fetch({.url = url("/fixed?key=" + key + ".half")});
    EXPECT_EQ(rejected.kind(), ErrorKind::circuit_open);
  }
  EXPECT_EQ(server().count(key + ".half"), 0);
  EXPECT_EQ(Runner::wait(probe).terminal, "success");
  const auto closed = run.fetch({.url = url("/fixed?key=" + key + ".closed")});
  EXPECT_EQ(closed.terminal, "success") << (closed.error ? closed.error->message : "");
  EXPECT_EQ(breaker->state(Url::parse(url("/"))->origin()), CircuitState::closed);
}

// Wraps a transport and counts its exchanges in flight, from start() to on_complete: what the
// transport (and so the server) is asked to carry at once.
class CountingTransport final : public Transport {
 public:
  explicit CountingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override {
    const int n = now_.fetch_add(1) + 1;
    for (int seen = most_.load(); n > seen && !most_.compare_exchange_weak(seen, n);) {
    }
    return inner_->start(spec, std::make_shared<Observer>(std::move(observer), now_));
  }
  [[nodiscard]] std::string_view name() const override { return inner_->name(); }
  [[nodiscard]] int most() const { return most_.load(); }

 private:
  struct Observer final : ExchangeObserver {
    Observer(std::shared_ptr<ExchangeObserver> inner, std::atomic<int>& now) : inner(std::move(inner)), now(now) {}
    void on_head(ResponseHead head) override { inner->on_head(std::move(head)); }
    bool on_body(std::string_view chunk) override { return inner->on_body(chunk); }
    void on_complete(ExchangeResult result) override {
      now.fetch_sub(1);
      inner->on_complete(std::move(result));
    }
    std::shared_ptr<ExchangeObserver> inner;
    std::atomic<int>& now;
  };
  std::shared_ptr<Transport> inner_;
  std::atomic<int> now_{0};
  std::atomic<int> most_{0};
};

TEST_P(ConformanceFleet, APerOriginLimitHoldsOverAThousandFetches) {
  constexpr int kFetches = 1000;
  constexpr int kLimit = 4;
  constexpr int kDelayMs = 10;
  std::shared_ptr<CountingTransport> counting;
  Runner run(GetParam(), [&](ClientOptions& o) {
    o.admission.max_per_origin = kLimit;
    counting = std::make_shared<CountingTransport>(o.transport);
    o.transport = counting;
  });
  const auto started = Clock::now();
  std::vector<Runner::Pending> pending;
  pending.reserve(kFetches);
  for (int i = 0; i < kFetches; ++i) {
    pending.push_back(run.start({.url = url(fmt::format("/delay?ms={}", kDelayMs))}));
  }
  int succeeded = 0;
  for (auto& p : pending) succeeded += Runner::wait(p, 120s).terminal == "success" ? 1 : 0;
  const auto elapsed = Clock::now() - started;
  EXPECT_EQ(succeeded, kFetches);
  EXPECT_LE(counting->most(), kLimit);
  EXPECT_EQ(counting->most(), kLimit) << "the limit was never reached: the test proves nothing";
  // A lower bound, so a slow machine cannot break it: with at most kLimit requests at the server
  // at once, the fetches need at least kFetches / kLimit delays end to end.
  EXPECT_GE(elapsed, std::chrono::milliseconds(kFetches / kLimit * kDelayMs));
  EXPECT_EQ(run.client().stats().queued > 0, true);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceFleet, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
