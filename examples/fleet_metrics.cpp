// Fleet metrics: an EventListener that keeps Prometheus counters, printed in the text exposition
// format a /metrics endpoint would serve.
//
// Starts the embedded fault server, runs fetches that succeed, are retried, exhaust a small retry
// budget and trip a circuit breaker, then prints the counters.
//
//   ./fleet_metrics
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <string>

#include "fetchpipe/client.hpp"
#include "fetchpipe/consecutive_failure_breaker.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/token_retry_budget.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

using namespace std::chrono_literals;

// Counters keyed by their label set. Events of different fetches may arrive on several executor
// threads at once, so everything is atomic or under one short lock.
class PrometheusCounters final : public fetchpipe::EventListener {
 public:
  void on_attempt_started(const fetchpipe::AttemptStarted&) override { ++attempts_; }
  void on_retry_scheduled(const fetchpipe::RetryScheduled&) override { ++retries_; }
  void on_budget_refused(const fetchpipe::BudgetRefused&) override { ++budget_refusals_; }
  void on_hedge_started(const fetchpipe::HedgeStarted&) override { ++hedges_; }
  void on_breaker_state_changed(const fetchpipe::BreakerStateChanged& e) override {
    add(breaker_transitions_, fmt::format(R"(origin="{}",to="{}")", e.origin, fetchpipe::to_string(e.to)));
  }
  void on_fetch_ended(const fetchpipe::FetchEnded& e) override {
    add(fetches_, fmt::format(R"(outcome="{}",reason="{}")", fetchpipe::to_string(e.outcome),
                              fetchpipe::to_string(e.reason)));
  }

  [[nodiscard]] std::string exposition() const {
    std::string out;
    const auto counter = [&](std::string_view name, std::string_view help, auto&& body) {
      out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
      body();
    };
    counter("fetchpipe_attempts_total", "Attempts sent.", [&] { out += fmt::format("fetchpipe_attempts_total {}\n", attempts_.load()); });
    counter("fetchpipe_retries_total", "Retries scheduled.", [&] { out += fmt::format("fetchpipe_retries_total {}\n", retries_.load()); });
    counter("fetchpipe_hedges_total", "Hedges started.", [&] { out += fmt::format("fetchpipe_hedges_total {}\n", hedges_.load()); });
    counter("fetchpipe_budget_refusals_total", "Retries and hedges refused by the retry budget.",
            [&] { out += fmt::format("fetchpipe_budget_refusals_total {}\n", budget_refusals_.load()); });
    std::lock_guard lock(mutex_);
    counter("fetchpipe_fetches_total", "Fetches ended, by outcome and reason.", [&] {
      for (const auto& [labels, n] : fetches_) out += fmt::format("fetchpipe_fetches_total{{{}}} {}\n", labels, n);
    });
    counter("fetchpipe_breaker_transitions_total", "Circuit breaker state changes.", [&] {
      for (const auto& [labels, n] : breaker_transitions_) {
        out += fmt::format("fetchpipe_breaker_transitions_total{{{}}} {}\n", labels, n);
      }
    });
    return out;
  }

 private:
  void add(std::map<std::string, std::uint64_t>& counters, std::string labels) {
    std::lock_guard lock(mutex_);
    ++counters[std::move(labels)];
  }

  std::atomic<std::uint64_t> attempts_{0}, retries_{0}, hedges_{0}, budget_refusals_{0};
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> fetches_, breaker_transitions_;
};

int main() {
  fetchpipe::tools::FaultServer server;  // 127.0.0.1, an ephemeral port
  auto metrics = std::make_shared<PrometheusCounters>();

  fetchpipe::ClientOptions options;
  options.transport = std::make_shared<fetchpipe::CurlTransport>();
  options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
  options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>(
      fetchpipe::ExponentialBackoff::Options{.initial = 10ms, .max = 100ms});
  // A deliberately small budget (2 retries a second, no ratio) so that this short run shows a
  // refusal; the default is 20 % of recent requests plus 10 a second.
  options.retry_budget = std::make_shared<fetchpipe::TokenRetryBudget>(
      fetchpipe::TokenRetryBudget::Options{.ratio = 0, .min_per_second = 2});
  options.circuit_breaker = std::make_shared<fetchpipe::ConsecutiveFailureBreaker>(
      fetchpipe::ConsecutiveFailureBreaker::Options{.consecutive_failures = 3, .open_for = 1s});
  options.events = metrics;
  fetchpipe::Client client(options);

  const auto run = [&](const std::string& path) {
    std::promise<void> done;
    client.fetch({.url = server.url(path)}, {.on_success = [&](fetchpipe::Response) { done.set_value(); },
                                              .on_failure = [&](fetchpipe::Error) { done.set_value(); },
                                              .on_cancel = [&](fetchpipe::Error) { done.set_value(); }});
    done.get_future().wait();
  };
  run("/fixed");                                  // succeeds at once
  run("/flaky?key=metrics&fail=1&status=503");    // one retry, then success
  for (int i = 0; i < 3; ++i) run("/status?code=503");  // the budget runs dry; the breaker opens
  run("/fixed");                                  // fails at once: the circuit is open

  fmt::print("{}", metrics->exposition());
  const auto stats = client.stats();
  fmt::print("# client stats: started {} succeeded {} failed {} retries {} budget_refusals {} breaker_rejections {}\n",
             stats.started, stats.succeeded, stats.failed, stats.retries, stats.budget_refusals,
             stats.breaker_rejections);
  return stats.breaker_rejections > 0 && stats.budget_refusals > 0 ? 0 : 1;
}
