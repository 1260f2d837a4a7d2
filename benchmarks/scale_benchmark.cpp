// scale_benchmark — 10,000 fetches in flight at once through one CurlTransport.
//
//   Scale/curl/10000_in_flight   10,000 fetches of a 1 s /delay endpoint, all started at once from
//                                this thread, against a fault server in a SEPARATE process
//                                (`fetchpipe serve`, or benchmarks' bench_server; `benchmarks/run`
//                                starts it and passes FETCHPIPE_BENCH_SERVER_URL).
//
// Client: defaults (a ThreadPoolExecutor of one thread for callbacks, a RealScheduler), one
// CurlTransport with default options, DefaultRetryPolicy with max_attempts = 1 so "all succeed"
// means every first attempt succeeded.
//
// Counters: succeeded, failed, wall_s (first fetch() to last terminal callback), threads_created
// (/proc/self/task after the client exists and every fetch is in flight, minus before it was
// built), peak_rss_mib (getrusage; the whole process), rss_before_mib, min_s / p50_s / max_s
// (latency of one fetch; min_s is about the server's delay alone), submit_s (the 10,000 fetch()
// calls), nofile (the soft RLIMIT_NOFILE after raising it to the hard limit).
// Targets (issue 6): all succeed, wall <= 2.5 s, <= 4 threads created, peak RSS <= 256 MB.
//
// Knobs: FETCHPIPE_BENCH_SCALE_FETCHES (10000), FETCHPIPE_BENCH_SCALE_DELAY_MS (1000).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

namespace {

using fetchpipe::bench::SteadyClock;
using namespace std::chrono_literals;

std::uint64_t g_nofile = 0;

struct Tally {
  std::mutex mutex;
  std::condition_variable all_done;
  std::size_t expected = 0;
  std::size_t ended = 0;
  std::size_t succeeded = 0;
  std::map<std::string, std::size_t> failures;  // by error kind
  std::vector<double> latencies_s;
  SteadyClock::time_point last_end;
};

void BM_TenThousandInFlight(benchmark::State& state) {
  const auto base = fetchpipe::bench::env("FETCHPIPE_BENCH_SERVER_URL");
  if (!base) {
    state.SkipWithError("FETCHPIPE_BENCH_SERVER_URL is unset (benchmarks/run starts `fetchpipe serve` and sets it)");
    for (auto _ : state) {
    }
    return;
  }
  const auto fetches = static_cast<std::size_t>(fetchpipe::bench::env_long("FETCHPIPE_BENCH_SCALE_FETCHES", 10000));
  const long delay_ms = fetchpipe::bench::env_long("FETCHPIPE_BENCH_SCALE_DELAY_MS", 1000);
  const std::string url = *base + "/delay?ms=" + std::to_string(delay_ms);

  for (auto _ : state) {
    const double rss_before_mib = static_cast<double>(fetchpipe::bench::current_rss_kib()) / 1024.0;
    const std::size_t threads_before = fetchpipe::bench::thread_count();
    Tally tally;
    tally.expected = fetches;
    tally.latencies_s.reserve(fetches);
    std::size_t threads_during = 0;
    double wall_s = 0;
    {
      fetchpipe::ClientOptions options;
      options.transport = std::make_shared<fetchpipe::CurlTransport>();
      options.retry_policy =
          std::make_shared<fetchpipe::DefaultRetryPolicy>(fetchpipe::DefaultRetryPolicy::Options{.max_attempts = 1});
      options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();
      fetchpipe::Client client(std::move(options));

      const auto t0 = SteadyClock::now();
      for (std::size_t i = 0; i < fetches; ++i) {
        const auto start = SteadyClock::now();
        // `failure` is the error kind, empty for a success.
        auto end = [&tally, start](std::string_view failure) {
          const auto now = SteadyClock::now();
          std::lock_guard lock(tally.mutex);
          tally.latencies_s.push_back(std::chrono::duration<double>(now - start).count());
          if (failure.empty()) ++tally.succeeded;
          else ++tally.failures[std::string(failure)];
          tally.last_end = now;
          if (++tally.ended == tally.expected) tally.all_done.notify_all();
        };
        client.fetch(fetchpipe::Request{.url = url},
                     fetchpipe::Callbacks{
                         .on_success = [end](fetchpipe::Response r) { end(r.status == 200 ? "" : "status"); },
                         .on_failure = [end](fetchpipe::Error e) { end(fetchpipe::to_string(e.kind)); },
                         .on_cancel = [end](fetchpipe::Error) { end("cancelled"); },
                     });
      }
      const double submit_s = fetchpipe::bench::seconds_between(t0, SteadyClock::now());
      threads_during = fetchpipe::bench::thread_count();
      state.counters["submit_s"] = submit_s;
      {
        std::unique_lock lock(tally.mutex);
        tally.all_done.wait_for(lock, 60s, [&] { return tally.ended >= fetches; });
        wall_s = fetchpipe::bench::seconds_between(t0, tally.ended >= fetches ? tally.last_end : SteadyClock::now());
        threads_during = std::max(threads_during, fetchpipe::bench::thread_count());
      }
      state.SetIterationTime(wall_s);
    }  // the client's destructor cancels anything left after the bounded wait

    std::size_t failed = 0;
    for (const auto& [kind, n] : tally.failures) {
      failed += n;
      std::fprintf(stderr, "scale_benchmark: %zu fetches failed with %s\n", n, kind.c_str());
    }
    const std::size_t never_ended = fetches - std::min(fetches, tally.ended);
    std::sort(tally.latencies_s.begin(), tally.latencies_s.end());
    state.counters["succeeded"] = static_cast<double>(tally.succeeded);
    state.counters["failed"] = static_cast<double>(failed + never_ended);
    state.counters["wall_s"] = wall_s;
    state.counters["threads_created"] = static_cast<double>(threads_during - threads_before);
    state.counters["peak_rss_mib"] = static_cast<double>(fetchpipe::bench::peak_rss_kib()) / 1024.0;
    state.counters["rss_before_mib"] = rss_before_mib;
    state.counters["min_s"] = tally.latencies_s.empty() ? 0.0 : tally.latencies_s.front();
    state.counters["p50_s"] = tally.latencies_s.empty() ? 0.0 : tally.latencies_s[tally.latencies_s.size() / 2];
    state.counters["max_s"] = tally.latencies_s.empty() ? 0.0 : tally.latencies_s.back();
    state.counters["nofile"] = static_cast<double>(g_nofile);
    if (tally.succeeded != fetches) state.SkipWithError("not every fetch succeeded (see counters and stderr)");
  }
}

}  // namespace

BENCHMARK(BM_TenThousandInFlight)
    ->Name("Scale/curl/10000_in_flight")
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

int main(int argc, char** argv) {
  g_nofile = fetchpipe::bench::raise_open_file_limit();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
