// hedge_benchmark — what hedging does to the tail over loopback, on the real transports.
//
//   Hedge/<curl|httplib>/<fixed_20ms|auto>
//       The in-process fault server's /delay answers in 2 ms, except 20 of every 1,000 requests
//       (a fixed hash of the request's number), which take 300 ms. Each round runs `fetches`
//       fetches, 16 in flight, once without hedging and once with it (order flipped every round),
//       each with a fresh client and server key. Counters (medians over rounds):
//         p50_ms, p99_ms            with hedging;  base_p50_ms, base_p99_ms  without
//         ratio_p99                 base_p99 / p99 (how many times lower the p99 is)
//         extra_attempts_pct        attempts beyond one per fetch, with hedging
//         losers, aborted           attempts cancelled because another won, and the requests the
//                                   server saw closed by the client: every loser's connection is
//                                   closed, so aborted should match losers (a loser that had not
//                                   reached the server yet is not counted by it)
// Knobs: FETCHPIPE_BENCH_ROUNDS (3), FETCHPIPE_BENCH_HEDGE_FETCHES (1000).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_support.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/executor.hpp"
#include "fetchpipe/policies/adaptive_hedging.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/policies/fixed_hedging.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "fetchpipe/transports/httplib_transport.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kInFlight = 16;

fetchpipe::tools::FaultServer& server() {
  static fetchpipe::tools::FaultServer s;
  return s;
}

enum class Mode { off, fixed, adaptive };

struct RoundResult {
  double p50_ms = 0;
  double p99_ms = 0;
  double extra_attempts_pct = 0;
  int losers = 0;
  int aborted = 0;
  int failures = 0;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

RoundResult run_round(const std::string& transport, Mode mode, int fetches, const std::string& key) {
  fetchpipe::ClientOptions o;
  if (transport == "curl") {
    o.transport = std::make_shared<fetchpipe::CurlTransport>();
  } else {
    o.transport = std::make_shared<fetchpipe::HttplibTransport>(
        fetchpipe::HttplibTransport::Options{.workers = kInFlight * 2});
  }
  o.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
  o.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();
  o.callback_executor = std::make_shared<fetchpipe::InlineExecutor>();
  if (mode == Mode::fixed) o.hedging = std::make_shared<fetchpipe::FixedHedging>(fetchpipe::FixedHedging::Options{.delay = 20ms});
  if (mode == Mode::adaptive) o.hedging = std::make_shared<fetchpipe::AdaptiveHedging>();
  fetchpipe::Client client(o);

  const std::string url = server().url("/delay?ms=2&slow_ms=300&slow_permille=20&key=" + key);
  std::mutex mutex;
  std::condition_variable cv;
  int in_flight = 0;
  int done = 0;
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(fetches));
  RoundResult result;
  std::uint64_t attempts = 0;
  for (int i = 0; i < fetches; ++i) {
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return in_flight < kInFlight; });
      ++in_flight;
    }
    const auto began = Clock::now();
    auto finish = [&, began](const std::vector<fetchpipe::AttemptRecord>& records, bool ok) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - began).count();
      std::lock_guard lock(mutex);
      latencies.push_back(ms);
      attempts += records.size();
      for (const auto& r : records) {
        if (r.error == fetchpipe::ErrorKind::cancelled) ++result.losers;
      }
      if (!ok) ++result.failures;
      --in_flight;
      ++done;
      cv.notify_all();
    };
    client.fetch({.url = url}, {.on_success = [finish](fetchpipe::Response r) { finish(r.attempts, true); },
                                .on_failure = [finish](fetchpipe::Error e) { finish(e.attempts, false); },
                                .on_cancel = [finish](fetchpipe::Error e) { finish(e.attempts, false); }});
  }
  {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 120s, [&] { return done == fetches; });
  }
  // The server counts a close when it notices it: give the last losers' closes a moment.
  for (int i = 0; i < 200 && server().aborted(key) < result.losers; ++i) std::this_thread::sleep_for(5ms);
  result.aborted = server().aborted(key);
  result.p50_ms = percentile(latencies, 0.50);
  result.p99_ms = percentile(latencies, 0.99);
  result.extra_attempts_pct = 100.0 * (static_cast<double>(attempts) / fetches - 1.0);
  return result;
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

void BM_Hedge(benchmark::State& state, const std::string& transport, Mode mode) {
  const int rounds = static_cast<int>(fetchpipe::bench::env_long("FETCHPIPE_BENCH_ROUNDS", 3));
  const int fetches = static_cast<int>(fetchpipe::bench::env_long("FETCHPIPE_BENCH_HEDGE_FETCHES", 1000));
  static int row = 0;
  ++row;
  std::vector<double> p50, p99, base_p50, base_p99, ratio, extra, losers, aborted;
  int failures = 0;
  for (auto _ : state) {
    for (int round = 0; round < rounds; ++round) {
      const std::string stem = fmt::format("hedge-{}-{}-{}", row, round, transport);
      RoundResult base, hedged;
      if (round % 2 == 0) {
        base = run_round(transport, Mode::off, fetches, stem + "-off");
        hedged = run_round(transport, mode, fetches, stem + "-on");
      } else {
        hedged = run_round(transport, mode, fetches, stem + "-on");
        base = run_round(transport, Mode::off, fetches, stem + "-off");
      }
      p50.push_back(hedged.p50_ms);
      p99.push_back(hedged.p99_ms);
      base_p50.push_back(base.p50_ms);
      base_p99.push_back(base.p99_ms);
      ratio.push_back(hedged.p99_ms > 0 ? base.p99_ms / hedged.p99_ms : 0);
      extra.push_back(hedged.extra_attempts_pct);
      losers.push_back(hedged.losers);
      aborted.push_back(hedged.aborted);
      failures += base.failures + hedged.failures;
    }
  }
  state.counters["p50_ms"] = median(p50);
  state.counters["p99_ms"] = median(p99);
  state.counters["base_p50_ms"] = median(base_p50);
  state.counters["base_p99_ms"] = median(base_p99);
  state.counters["ratio_p99"] = median(ratio);
  state.counters["extra_attempts_pct"] = median(extra);
  state.counters["losers"] = median(losers);
  state.counters["aborted"] = median(aborted);
  state.counters["failures"] = failures;
}

BENCHMARK_CAPTURE(BM_Hedge, curl_fixed, std::string("curl"), Mode::fixed)
    ->Name("Hedge/curl/fixed_20ms")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hedge, curl_auto, std::string("curl"), Mode::adaptive)
    ->Name("Hedge/curl/auto")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hedge, httplib_fixed, std::string("httplib"), Mode::fixed)
    ->Name("Hedge/httplib/fixed_20ms")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hedge, httplib_auto, std::string("httplib"), Mode::adaptive)
    ->Name("Hedge/httplib/auto")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
