// policies_benchmark — the pure decisions the pipeline makes between attempts.
//
//   Backoff/next_delay/<jitter>     ExponentialBackoff::next_delay for retries 1..8 in turn
//   Backoff/clone                   the per-fetch copy of the prototype the pipeline makes
//   RetryAfter/<form>               parse_retry_after: delay-seconds, IMF-fixdate, RFC 850, asctime,
//                                   garbage (the fallback path)
//   RetryPolicy/decide/<case>       DefaultRetryPolicy::decide: a 503 with Retry-After, a connect
//                                   failure, a 404 (not retryable), attempts exhausted
//   RetryPolicy/clone
//   RetryBudget/record_and_spend     TokenRetryBudget: record_request + try_spend (allowed) on a
//                                    known origin, with 64 origins tracked
//   CircuitBreaker/admit_and_report  ConsecutiveFailureBreaker: admit + report(success) on a known
//                                    closed origin, with 64 origins tracked
// The two rows report `allocs` per call pair; the target is 0 once the origin is known.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <string_view>

#include "counting_allocator.hpp"
#include "fetchpipe/headers.hpp"
#include "fetchpipe/consecutive_failure_breaker.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/policies/retry_after.hpp"
#include "fetchpipe/token_retry_budget.hpp"
#include "fetchpipe/request.hpp"

namespace {

using namespace std::chrono_literals;

void BM_BackoffNextDelay(benchmark::State& state, fetchpipe::Jitter jitter) {
  fetchpipe::ExponentialBackoff backoff({.initial = 100ms, .multiplier = 2.0, .max = 10s, .jitter = jitter, .seed = 7});
  int retry = 0;
  for (auto _ : state) {
    retry = retry % 8 + 1;
    benchmark::DoNotOptimize(backoff.next_delay(retry));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_BackoffNextDelay, none, fetchpipe::Jitter::none)->Name("Backoff/next_delay/none");
BENCHMARK_CAPTURE(BM_BackoffNextDelay, full, fetchpipe::Jitter::full)->Name("Backoff/next_delay/full");
BENCHMARK_CAPTURE(BM_BackoffNextDelay, equal, fetchpipe::Jitter::equal)->Name("Backoff/next_delay/equal");
BENCHMARK_CAPTURE(BM_BackoffNextDelay, decorrelated, fetchpipe::Jitter::decorrelated)
    ->Name("Backoff/next_delay/decorrelated");

void BM_BackoffClone(benchmark::State& state) {
  fetchpipe::ExponentialBackoff prototype({.seed = 7});
  for (auto _ : state) {
    auto copy = prototype.clone();
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BackoffClone)->Name("Backoff/clone");

// "now" is fixed so the dates are always in the future and the result is never clamped to zero.
const auto kNow = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1} + 0s;

void BM_RetryAfter(benchmark::State& state, std::string_view value) {
  for (auto _ : state) {
    auto wait = fetchpipe::parse_retry_after(value, kNow);
    benchmark::DoNotOptimize(wait);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_RetryAfter, seconds, std::string_view("120"))->Name("RetryAfter/seconds");
BENCHMARK_CAPTURE(BM_RetryAfter, imf_date, std::string_view("Fri, 02 Jan 2026 08:49:37 GMT"))
    ->Name("RetryAfter/imf_fixdate");
BENCHMARK_CAPTURE(BM_RetryAfter, rfc850, std::string_view("Friday, 02-Jan-26 08:49:37 GMT"))
    ->Name("RetryAfter/rfc850");
BENCHMARK_CAPTURE(BM_RetryAfter, asctime, std::string_view("Fri Jan  2 08:49:37 2026"))->Name("RetryAfter/asctime");
BENCHMARK_CAPTURE(BM_RetryAfter, garbage, std::string_view("soon, please"))->Name("RetryAfter/garbage");

enum class DecideCase { status_503_retry_after, connect_failure, status_404, exhausted };

void BM_Decide(benchmark::State& state, DecideCase which) {
  fetchpipe::DefaultRetryPolicy policy;
  const fetchpipe::Request request{.url = "http://svc/x"};
  const fetchpipe::Headers headers{{"Content-Type", "text/plain"}, {"Retry-After", "3"}};
  fetchpipe::RetryContext context{.request = &request, .attempt = 1, .system_now = kNow};
  switch (which) {
    case DecideCase::status_503_retry_after:
      context.status = 503;
      context.response_headers = &headers;
      break;
    case DecideCase::connect_failure:
      context.error = fetchpipe::ErrorKind::connect_failure;
      break;
    case DecideCase::status_404:
      context.status = 404;
      break;
    case DecideCase::exhausted:
      context.status = 503;
      context.attempt = 4;
      break;
  }
  for (auto _ : state) {
    auto decision = policy.decide(context);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Decide, s503, DecideCase::status_503_retry_after)
    ->Name("RetryPolicy/decide/503_retry_after");
BENCHMARK_CAPTURE(BM_Decide, connect, DecideCase::connect_failure)->Name("RetryPolicy/decide/connect_failure");
BENCHMARK_CAPTURE(BM_Decide, s404, DecideCase::status_404)->Name("RetryPolicy/decide/404");
BENCHMARK_CAPTURE(BM_Decide, exhausted, DecideCase::exhausted)->Name("RetryPolicy/decide/exhausted");

void BM_RetryPolicyClone(benchmark::State& state) {
  fetchpipe::DefaultRetryPolicy prototype;
  for (auto _ : state) {
    auto copy = prototype.clone();
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RetryPolicyClone)->Name("RetryPolicy/clone");

constexpr std::string_view kOrigin = "https://api.example.com:443";  // longer than the SSO buffer

// Fills a per-origin table with other origins first, so the lookup is not the trivial one-entry case.
template <typename Touch>
void warm_origins(Touch&& touch) {
  for (int i = 0; i < 63; ++i) touch("https://host" + std::to_string(i) + ".example.com:443");
  touch(std::string(kOrigin));
}

void BM_BudgetRecordAndSpend(benchmark::State& state) {
  // Ratio 1: one request per retry never runs the allowance out, so every try_spend takes the
  // allowed path (a refusal costs the same lookup).
  fetchpipe::TokenRetryBudget budget({.ratio = 1.0});
  auto now = fetchpipe::TimePoint{} + 1000s;
  warm_origins([&](const std::string& origin) { budget.record_request(origin, now); });
  fetchpipe::bench::AllocationCounter allocs;
  std::int64_t refused = 0;
  allocs.start();
  for (auto _ : state) {
    now += 1us;  // crosses slots and seconds over the run, as real time would
    budget.record_request(kOrigin, now);
    if (!budget.try_spend(kOrigin, now)) ++refused;
  }
  allocs.pause();
  allocs.report(state);
  if (refused != 0) state.SkipWithError("a retry was refused: the row would measure the wrong path");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BudgetRecordAndSpend)->Name("RetryBudget/record_and_spend");

void BM_BreakerAdmitAndReport(benchmark::State& state) {
  fetchpipe::ConsecutiveFailureBreaker breaker;
  auto now = fetchpipe::TimePoint{} + 1000s;
  warm_origins([&](const std::string& origin) {
    (void)breaker.admit(origin, now);
    breaker.report(origin, now, fetchpipe::AttemptOutcome::success, false);
  });
  fetchpipe::bench::AllocationCounter allocs;
  std::int64_t not_allowed = 0;
  allocs.start();
  for (auto _ : state) {
    now += 1us;
    const fetchpipe::Admission a = breaker.admit(kOrigin, now);
    if (a.verdict != fetchpipe::Admission::Verdict::allowed) ++not_allowed;
    breaker.report(kOrigin, now, fetchpipe::AttemptOutcome::success, false);
  }
  allocs.pause();
  allocs.report(state);
  if (not_allowed != 0) state.SkipWithError("an attempt was not allowed: the row would measure the wrong path");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BreakerAdmitAndReport)->Name("CircuitBreaker/admit_and_report");

}  // namespace

BENCHMARK_MAIN();
