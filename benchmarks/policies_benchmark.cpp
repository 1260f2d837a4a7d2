// policies_benchmark — the pure decisions the pipeline makes between attempts.
//
//   Backoff/next_delay/<jitter>     ExponentialBackoff::next_delay for retries 1..8 in turn
//   Backoff/clone                   the per-fetch copy of the prototype the pipeline makes
//   RetryAfter/<form>               parse_retry_after: delay-seconds, IMF-fixdate, RFC 850, asctime,
//                                   garbage (the fallback path)
//   RetryPolicy/decide/<case>       DefaultRetryPolicy::decide: a 503 with Retry-After, a connect
//                                   failure, a 404 (not retryable), attempts exhausted
//   RetryPolicy/clone
#include <benchmark/benchmark.h>

#include <chrono>
#include <string_view>

#include "fetchpipe/headers.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/policies/retry_after.hpp"
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

}  // namespace

BENCHMARK_MAIN();
