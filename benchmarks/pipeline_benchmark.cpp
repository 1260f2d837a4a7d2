// pipeline_benchmark — the fetch pipeline's own cost, with no I/O: a Client over the memory
// transport, an InlineExecutor and a ManualScheduler (virtual time), so every fetch runs to its
// terminal callback on this thread.
//
//   Pipeline/success     fetch -> 200 "hello" -> on_success (the default retry budget is on)
//   Pipeline/success_no_budget   the same with no_retry_budget(): the baseline the budget's cost
//                        is measured against (target: at most 5 % more ns, no extra allocation)
//   Pipeline/success_admission   the same with the budget and admission limits that never bind
//                        (1,000 per origin, 10^9 starts a second): the cost of asking
//   Pipeline/success_per_host_limit, Pipeline/success_rate_limit   the budget and one of the two
//                        admission limits: which of them costs what
//   Pipeline/one_retry   fetch -> 503 -> 100 ms backoff (virtual) -> 200 -> on_success
//   Pipeline/cancel      fetch of a hanging URL -> cancel() -> on_cancel
//   Transport/success    the memory transport alone (start -> on_complete), no Client: the floor
//                        the pipeline rows stand on
//
// Counter `allocs` is the number of heap allocations per fetch (operator new is replaced in this
// binary and counts every call; the URL fits the small-string buffer so building the Request
// allocates nothing). Targets (issue 14): at most 3 per successful fetch, 8 with one retry and 5
// for a cancelled one; tests/framework/allocation_budget_test holds the pipeline to them.
//
// To see where they come from: FETCHPIPE_BENCH_TRACE_ALLOCS=1 prints the call stack of every
// allocation made by one extra fetch per benchmark (before the timed loop) to stderr, as
// `binary(+offset)` frames; `addr2line -C -f -i -e <binary> <offset>...` names them.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "counting_allocator.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/executor.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/scheduler.hpp"
#include "fetchpipe/transports/memory_transport.hpp"


namespace {

using namespace std::chrono_literals;
using fetchpipe::Scripted;

constexpr const char* kUrl = "http://s/x";  // 10 characters: no allocation for the Request's URL

using fetchpipe::bench::AllocationCounter;

enum class Fleet { default_budget, no_budget, budget_and_admission, budget_and_per_host_limit, budget_and_rate_limit };

struct Fixture {
  std::shared_ptr<fetchpipe::ManualScheduler> clock = std::make_shared<fetchpipe::ManualScheduler>();
  std::shared_ptr<fetchpipe::MemoryTransport> memory = std::make_shared<fetchpipe::MemoryTransport>(
      clock, fetchpipe::MemoryTransport::Options{.record_requests = false});
  std::unique_ptr<fetchpipe::Client> client;

  explicit Fixture(Fleet fleet = Fleet::default_budget) {
    fetchpipe::ClientOptions options;
    if (fleet == Fleet::no_budget) options.retry_budget = fetchpipe::no_retry_budget();
    if (fleet == Fleet::budget_and_admission || fleet == Fleet::budget_and_per_host_limit) {
      options.admission.max_per_origin = 1000;
    }
    if (fleet == Fleet::budget_and_admission || fleet == Fleet::budget_and_rate_limit) {
      options.admission.rate_per_second = 1e9;
      options.admission.rate_burst = 1000;
    }
    options.transport = memory;
    options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
    options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>(
        fetchpipe::ExponentialBackoff::Options{.initial = 100ms, .jitter = fetchpipe::Jitter::none, .seed = 1});
    options.callback_executor = std::make_shared<fetchpipe::InlineExecutor>();
    options.scheduler = clock;
    client = std::make_unique<fetchpipe::Client>(std::move(options));
  }
};

// Outcome flags the callbacks set; the callbacks capture only a pointer (no allocation for the
// std::function itself).
struct Outcome {
  int successes = 0;
  int failures = 0;
  int cancels = 0;
};

fetchpipe::Callbacks callbacks_for(Outcome* outcome) {
  return fetchpipe::Callbacks{
      .on_success = [outcome](fetchpipe::Response) { ++outcome->successes; },
      .on_failure = [outcome](fetchpipe::Error) { ++outcome->failures; },
      .on_cancel = [outcome](fetchpipe::Error) { ++outcome->cancels; },
  };
}

// With FETCHPIPE_BENCH_TRACE_ALLOCS set: runs `one` once untraced (warm-up), then once traced.
template <typename Fn>
void trace_once(const char* what, Fn&& one) {
  const char* flag = std::getenv("FETCHPIPE_BENCH_TRACE_ALLOCS");
  static bool traced = false;  // once per call site: Google Benchmark calls a benchmark several times
  if (flag == nullptr || *flag == '\0' || traced) return;
  traced = true;
  one();
  std::fprintf(stderr, "== allocations of one %s\n", what);
  const std::uint64_t before = fetchpipe::bench::allocation_count();
  fetchpipe::bench::trace_allocations(true);
  one();
  fetchpipe::bench::trace_allocations(false);
  std::fprintf(stderr, "== %llu allocations\n",
               static_cast<unsigned long long>(fetchpipe::bench::allocation_count() - before));
}

void check(benchmark::State& state, const Outcome& outcome, int want_successes, int want_cancels) {
  if (outcome.successes != want_successes || outcome.cancels != want_cancels || outcome.failures != 0) {
    state.SkipWithError("unexpected outcome (a fetch did not end as scripted)");
  }
}

void BM_PipelineSuccess(benchmark::State& state, Fleet fleet) {
  Fixture f(fleet);
  f.memory->script(kUrl, {Scripted::ok("hello")});
  Outcome outcome;
  trace_once("successful fetch", [&] {
    auto handle = f.client->fetch(fetchpipe::Request{.url = kUrl}, callbacks_for(&outcome));
    f.clock->run_due();
  });
  outcome = {};
  AllocationCounter allocs;
  int n = 0;
  allocs.start();
  for (auto _ : state) {
    auto handle = f.client->fetch(fetchpipe::Request{.url = kUrl}, callbacks_for(&outcome));
    // 1 ns of virtual time per fetch, in every row alike (advance(0) is run_due()): the
    // admission row's 10^9 starts a second are one token a nanosecond, and a clock that never
    // moves would leave the fetch after its 1,000 banked tokens waiting for a start time.
    f.clock->advance(std::chrono::nanoseconds{1});
    benchmark::DoNotOptimize(handle);
    ++n;
  }
  allocs.pause();
  allocs.report(state);
  check(state, outcome, n, 0);
  state.SetItemsProcessed(state.iterations());
}

void BM_PipelineOneRetry(benchmark::State& state) {
  Fixture f;
  Outcome outcome;
  trace_once("fetch with one retry", [&] {
    f.memory->script(kUrl, {Scripted::status_code(503), Scripted::ok("hello")});
    auto handle = f.client->fetch(fetchpipe::Request{.url = kUrl}, callbacks_for(&outcome));
    while (f.clock->run_next()) {
    }
  });
  outcome = {};
  AllocationCounter allocs;
  int n = 0;
  for (auto _ : state) {
    // The script is consumed answer by answer; restore it outside the measured part.
    state.PauseTiming();
    f.memory->script(kUrl, {Scripted::status_code(503), Scripted::ok("hello")});
    allocs.start();
    state.ResumeTiming();
    auto handle = f.client->fetch(fetchpipe::Request{.url = kUrl}, callbacks_for(&outcome));
    while (f.clock->run_next()) {
    }
    benchmark::DoNotOptimize(handle);
    allocs.pause();
    ++n;
  }
  allocs.report(state);
  check(state, outcome, n, 0);
  state.SetItemsProcessed(state.iterations());
}

void BM_PipelineCancel(benchmark::State& state) {
  Fixture f;
  f.memory->script(kUrl, {Scripted::hanging()});
  Outcome outcome;
  trace_once("cancelled fetch", [&] {
    auto handle = f.client->fetch(fetchpipe::Request{.url = kUrl}, callbacks_for(&outcome));
    f.clock->run_due();
    handle.cancel();
    f.clock->run_due();
  });
  outcome = {};
  AllocationCounter allocs;
  int n = 0;
  allocs.start();
  for (auto _ : state) {
    auto handle = f.client->fetch(fetchpipe::Request{.url = kUrl}, callbacks_for(&outcome));
    f.clock->run_due();
    handle.cancel();
    f.clock->run_due();
    ++n;
  }
  allocs.pause();
  allocs.report(state);
  check(state, outcome, 0, n);
  state.SetItemsProcessed(state.iterations());
}

// The setup a user gets without tuning: a ThreadPoolExecutor and a RealScheduler (what
// ClientOptions default to), a realistic URL and two request headers. The best-case rows above
// (inline executor, manual clock, a 10-character URL, no headers) show the pipeline's floor; this
// one shows the figure users see. Each iteration waits for its terminal callback.
void BM_PipelineSuccessDefaultSetup(benchmark::State& state) {
  auto scheduler = std::make_shared<fetchpipe::RealScheduler>();
  auto memory = std::make_shared<fetchpipe::MemoryTransport>(
      scheduler, fetchpipe::MemoryTransport::Options{.record_requests = false});
  constexpr const char* kRealisticUrl = "https://api.example.com/v1/customers/4711/orders?status=open&page=2";
  memory->script(kRealisticUrl, {Scripted::ok("{\"orders\":[]}")});
  fetchpipe::ClientOptions options;
  options.transport = memory;
  options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
  options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();
  options.callback_executor = std::make_shared<fetchpipe::ThreadPoolExecutor>(1);
  options.scheduler = scheduler;
  fetchpipe::Client client(std::move(options));
  std::atomic<int> ended{0};
  auto end = [&ended] {
    ended.fetch_add(1);
    ended.notify_one();
  };
  auto one = [&] {
    fetchpipe::Request request{.url = kRealisticUrl};
    request.headers.add("Accept", "application/json");
    request.headers.add("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl");
    const int before = ended.load();
    auto handle = client.fetch(std::move(request),
                               fetchpipe::Callbacks{.on_success = [&end](fetchpipe::Response) { end(); },
                                                    .on_failure = [&end](fetchpipe::Error) { end(); },
                                                    .on_cancel = [&end](fetchpipe::Error) { end(); }});
    for (int seen = ended.load(); seen == before; seen = ended.load()) ended.wait(seen);
    benchmark::DoNotOptimize(handle);
  };
  trace_once("successful fetch, default setup", one);
  AllocationCounter allocs;
  allocs.start();
  for (auto _ : state) one();
  allocs.pause();
  allocs.report(state);
  if (client.stats().succeeded != client.stats().started) state.SkipWithError("a fetch did not succeed");
  state.SetItemsProcessed(state.iterations());
}

// The transport alone: what any pipeline on the memory transport pays at least.
class NullObserver final : public fetchpipe::ExchangeObserver {
 public:
  void on_head(fetchpipe::ResponseHead) override {}
  bool on_body(std::string_view) override { return true; }
  void on_complete(fetchpipe::ExchangeResult) override { ++completed; }
  int completed = 0;
};

void BM_TransportSuccess(benchmark::State& state) {
  auto clock = std::make_shared<fetchpipe::ManualScheduler>();
  fetchpipe::MemoryTransport memory(clock, fetchpipe::MemoryTransport::Options{.record_requests = false});
  memory.script(kUrl, {Scripted::ok("hello")});
  auto observer = std::make_shared<NullObserver>();
  const fetchpipe::Request request{.url = kUrl};
  const fetchpipe::TlsOptions tls;
  fetchpipe::ExchangeSpec spec{.request = &request, .tls = &tls};
  trace_once("memory-transport exchange", [&] {
    spec.deadline = clock->now() + 30s;
    auto exchange = memory.start(spec, observer);
    clock->run_due();
  });
  observer->completed = 0;
  AllocationCounter allocs;
  allocs.start();
  for (auto _ : state) {
    spec.deadline = clock->now() + 30s;
    auto exchange = memory.start(spec, observer);
    clock->run_due();
    benchmark::DoNotOptimize(exchange);
  }
  allocs.pause();
  allocs.report(state);
  if (observer->completed != static_cast<int>(state.iterations())) state.SkipWithError("exchange did not complete");
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(BM_PipelineSuccess, default_budget, Fleet::default_budget)->Name("Pipeline/success");
BENCHMARK_CAPTURE(BM_PipelineSuccess, no_budget, Fleet::no_budget)->Name("Pipeline/success_no_budget");
BENCHMARK_CAPTURE(BM_PipelineSuccess, admission, Fleet::budget_and_admission)->Name("Pipeline/success_admission");
BENCHMARK_CAPTURE(BM_PipelineSuccess, per_host, Fleet::budget_and_per_host_limit)->Name("Pipeline/success_per_host_limit");
BENCHMARK_CAPTURE(BM_PipelineSuccess, rate, Fleet::budget_and_rate_limit)->Name("Pipeline/success_rate_limit");
BENCHMARK(BM_PipelineOneRetry)->Name("Pipeline/one_retry");
BENCHMARK(BM_PipelineCancel)->Name("Pipeline/cancel");
BENCHMARK(BM_PipelineSuccessDefaultSetup)->Name("Pipeline/success_default_setup")->UseRealTime();
BENCHMARK(BM_TransportSuccess)->Name("Transport/success");

BENCHMARK_MAIN();
