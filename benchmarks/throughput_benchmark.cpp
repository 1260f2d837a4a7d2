// throughput_benchmark — req/s and latency over loopback, each transport through the Client
// against a plain loop on the same library, measured in the same process, alternately.
//
//   Throughput/curl/<target>/<concurrency>      concurrency 1, 16, 64, 256
//       client:   Client + CurlTransport (defaults; InlineExecutor, so the next fetch starts from
//                 the callback on the transport's loop thread), `concurrency` fetches kept in flight
//       baseline: one thread running a plain libcurl multi loop (curl_multi_perform +
//                 curl_multi_poll, keep-alive, handles re-added after the completion batch), the
//                 same number of transfers kept in flight
//   Throughput/httplib/<target>/<threads>       1, 4, 16 threads
//       client:   Client + HttplibTransport{.workers = threads}, `threads` fetches in flight
//       baseline: `threads` threads, each looping httplib::Client::Get with keep-alive
//   Throughput/curl/nginx/<4096|10000>          client against wrk -t1 (run by this binary),
//                                               alternately, the order flipped every round
//   Throughput/curl_loops<N>/<target>/<concurrency>   only with FETCHPIPE_BENCH_LOOPS=N (2..64):
//       client:   Client + CurlTransport{.event_loops = N}; baseline: the same with 1 loop; and
//       the plain libcurl loop as a third side (counters plain_rps and ratio_plain: N loops / plain).
//       Extra counters cpu_us_per_req / base_cpu_us_per_req: this process's CPU time (getrusage,
//       user + sys) over the measured window divided by the requests completed in it; with an
//       out-of-process server (benchmarks/run, nginx) that is the client side's cost alone.
//
// Each row runs `rounds` pairs of (baseline, client) — order flipped every round — each round a
// warm-up (connections open, not measured) and then `seconds` measured. Counters (medians over
// rounds): rps, p50_us, p99_us (client), base_rps, base_p50_us, base_p99_us, ratio (median of
// the per-round client/baseline ratios), errors; for the scale rows wrk_rps and ratio_wrk.
//
// Targets (URLs come from the environment `benchmarks/run` sets up):
//   fixed   FETCHPIPE_BENCH_FIXED_URL  (the fault server's /fixed; started in-process if unset)
//   nginx   FETCHPIPE_BENCH_NGINX_URL  (skipped if unset)
//   url     FETCHPIPE_BENCH_URL        (any URL; skipped if unset)
// Knobs: FETCHPIPE_BENCH_ROUNDS (3), FETCHPIPE_BENCH_SECONDS (2), FETCHPIPE_BENCH_WARMUP (0.3),
//        FETCHPIPE_BENCH_SCALE_SECONDS (3), FETCHPIPE_BENCH_SCALE_WARMUP (2),
//        FETCHPIPE_BENCH_WRK=0 (do not run wrk; then FETCHPIPE_WRK_RPS_4096 and
//        FETCHPIPE_WRK_RPS_10000, wrk's req/s measured elsewhere, give ratio_wrk; wrk_same_run 0),
//        FETCHPIPE_BENCH_ONLY=curl|httplib|loops (run one family),
//        FETCHPIPE_BENCH_LOOPS=N (add the curl_loops rows),
//        FETCHPIPE_BENCH_SIDE=client|baseline (run one side only, e.g. under a profiler; no ratio).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <curl/curl.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/executor.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "fetchpipe/transports/httplib_transport.hpp"

namespace {

using namespace std::chrono_literals;
using fetchpipe::bench::LatencyHistogram;
using fetchpipe::bench::SteadyClock;

// ---- One measured round --------------------------------------------------------------------

// Shared by a load generator and the driver that times it.
struct Meter {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> errors{0};
  LatencyHistogram latency;

  void done(SteadyClock::time_point start, bool ok) {
    if (!measuring.load(std::memory_order_relaxed)) return;
    if (!ok) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    latency.record(SteadyClock::now() - start);
    completed.fetch_add(1, std::memory_order_relaxed);
  }
};

struct RoundResult {
  double rps = 0;
  double cpu_us_per_req = 0;  // process CPU (user + sys) over the measured window / requests
  double p50_us = 0;
  double p99_us = 0;
  std::uint64_t errors = 0;
};

struct Timing {
  double warmup_s;
  double measure_s;
};

// A load generator: starts its work (threads of its own) and returns; `finish` stops it and waits.
class Load {
 public:
  virtual ~Load() = default;
  virtual void begin(Meter& meter) = 0;
  virtual void finish() = 0;
};

// User + system CPU time of the whole process so far, in microseconds.
double process_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

RoundResult run_round(Load& load, Timing timing) {
  Meter meter;
  load.begin(meter);
  std::this_thread::sleep_for(std::chrono::duration<double>(timing.warmup_s));
  meter.measuring.store(true);
  const auto t0 = SteadyClock::now();
  const double cpu0 = process_cpu_us();
  std::this_thread::sleep_for(std::chrono::duration<double>(timing.measure_s));
  meter.measuring.store(false);
  const double cpu1 = process_cpu_us();
  const auto t1 = SteadyClock::now();
  meter.stop.store(true);
  load.finish();
  RoundResult r;
  r.rps = static_cast<double>(meter.completed.load()) / fetchpipe::bench::seconds_between(t0, t1);
  r.p50_us = meter.latency.percentile_us(0.50);
  r.p99_us = meter.latency.percentile_us(0.99);
  r.errors = meter.errors.load();
  if (meter.completed.load() > 0) r.cpu_us_per_req = (cpu1 - cpu0) / static_cast<double>(meter.completed.load());
  return r;
}

// ---- Plain libcurl multi loop (the curl baseline) ---------------------------------------------

class PlainCurlLoad final : public Load {
 public:
  PlainCurlLoad(std::string url, int concurrency) : url_(std::move(url)), concurrency_(concurrency) {}

  void begin(Meter& meter) override {
    meter_ = &meter;
    thread_ = std::thread([this] { run(); });
  }
  void finish() override { thread_.join(); }

 private:
  struct Slot {
    CURL* easy = nullptr;
    SteadyClock::time_point start;
    std::string body;
  };

  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<Slot*>(user)->body.append(data, size * n);
    return size * n;
  }

  void run() {
    CURLM* multi = curl_multi_init();
    std::vector<Slot> slots(static_cast<std::size_t>(concurrency_));
    for (auto& slot : slots) {
      slot.easy = curl_easy_init();
      curl_easy_setopt(slot.easy, CURLOPT_URL, url_.c_str());
      curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &PlainCurlLoad::on_data);
      curl_easy_setopt(slot.easy, CURLOPT_WRITEDATA, &slot);
      curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
      curl_easy_setopt(slot.easy, CURLOPT_USERAGENT, "plain-libcurl");
      slot.start = SteadyClock::now();
      curl_multi_add_handle(multi, slot.easy);
    }
    std::vector<Slot*> finished;
    finished.reserve(slots.size());
    int running = 0;
    while (!meter_->stop.load(std::memory_order_relaxed)) {
      curl_multi_perform(multi, &running);
      // Read every completion first, then remove and re-add: removing a handle walks the unread
      // messages, and re-adding once per pass batches libcurl's bookkeeping.
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Slot* slot = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        meter_->done(slot->start, msg->data.result == CURLE_OK && status >= 200 && status < 300);
        finished.push_back(slot);
      }
      for (Slot* slot : finished) curl_multi_remove_handle(multi, slot->easy);
      for (Slot* slot : finished) {
        slot->body.clear();
        slot->start = SteadyClock::now();
        curl_multi_add_handle(multi, slot->easy);
      }
      finished.clear();
      curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    for (auto& slot : slots) {
      curl_multi_remove_handle(multi, slot.easy);
      curl_easy_cleanup(slot.easy);
    }
    curl_multi_cleanup(multi);
  }

  std::string url_;
  int concurrency_;
  Meter* meter_ = nullptr;
  std::thread thread_;
};

// ---- Plain cpp-httplib client threads (the httplib baseline) ----------------------------------

class PlainHttplibLoad final : public Load {
 public:
  PlainHttplibLoad(std::string url, int threads) : url_(fetchpipe::bench::split_url(url)), threads_(threads) {}

  void begin(Meter& meter) override {
    for (int i = 0; i < threads_; ++i) {
      threads_v_.emplace_back([this, &meter] {
        httplib::Client client(url_.origin);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);
        client.set_decompress(false);
        client.set_follow_location(false);
        while (!meter.stop.load(std::memory_order_relaxed)) {
          const auto start = SteadyClock::now();
          auto result = client.Get(url_.target);
          meter.done(start, result && result->status >= 200 && result->status < 300);
        }
      });
    }
  }
  void finish() override {
    for (auto& t : threads_v_) t.join();
    threads_v_.clear();
  }

 private:
  fetchpipe::bench::SplitUrl url_;
  int threads_;
  std::vector<std::thread> threads_v_;
};

// ---- The Client, with `concurrency` fetches kept in flight --------------------------------------

class ClientLoad final : public Load {
 public:
  using TransportFactory = std::function<std::shared_ptr<fetchpipe::Transport>()>;
  ClientLoad(std::string url, int concurrency, TransportFactory factory)
      : url_(std::move(url)), concurrency_(concurrency), factory_(std::move(factory)) {}

  void begin(Meter& meter) override {
    meter_ = &meter;
    fetchpipe::ClientOptions options;
    options.transport = factory_();
    options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
    options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();
    // Callbacks run where the transport completes, and start the next fetch from there: the
    // closest the Client gets to a plain loop (the default pool of one thread adds a hop).
    options.callback_executor = std::make_shared<fetchpipe::InlineExecutor>();
    client_ = std::make_unique<fetchpipe::Client>(std::move(options));
    for (int i = 0; i < concurrency_; ++i) launch();
  }

  void finish() override {
    // Every fetch ends by itself once `stop` is seen; wait (bounded), then let the destructor
    // cancel anything left.
    const auto give_up = SteadyClock::now() + 15s;
    while (in_flight_.load() > 0 && SteadyClock::now() < give_up) std::this_thread::sleep_for(1ms);
    client_.reset();
  }

 private:
  void launch() {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    const auto start = SteadyClock::now();
    client_->fetch(fetchpipe::Request{.url = url_},
                   fetchpipe::Callbacks{
                       .on_success = [this, start](fetchpipe::Response r) { ended(start, r.status < 300); },
                       .on_failure = [this, start](fetchpipe::Error) { ended(start, false); },
                       .on_cancel = [this, start](fetchpipe::Error) { ended(start, false); },
                   });
  }

  void ended(SteadyClock::time_point start, bool ok) {
    meter_->done(start, ok);
    if (!meter_->stop.load(std::memory_order_relaxed)) launch();
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }

  std::string url_;
  int concurrency_;
  TransportFactory factory_;
  Meter* meter_ = nullptr;
  std::atomic<int> in_flight_{0};
  std::unique_ptr<fetchpipe::Client> client_;
};

std::shared_ptr<fetchpipe::Transport> make_curl() { return std::make_shared<fetchpipe::CurlTransport>(); }

// ---- Rows -------------------------------------------------------------------------------------

struct Knobs {
  int rounds = static_cast<int>(fetchpipe::bench::env_long("FETCHPIPE_BENCH_ROUNDS", 3));
  Timing timing{fetchpipe::bench::env_double("FETCHPIPE_BENCH_WARMUP", 0.3),
                fetchpipe::bench::env_double("FETCHPIPE_BENCH_SECONDS", 2.0)};
  Timing scale_timing{fetchpipe::bench::env_double("FETCHPIPE_BENCH_SCALE_WARMUP", 2.0),
                      fetchpipe::bench::env_double("FETCHPIPE_BENCH_SCALE_SECONDS", 3.0)};
};

const Knobs& knobs() {
  static const Knobs k;
  return k;
}

void set_counters(benchmark::State& state, const std::vector<RoundResult>& client,
                  const std::vector<RoundResult>& baseline) {
  auto pick = [](const std::vector<RoundResult>& rs, double RoundResult::*field) {
    std::vector<double> v;
    for (const auto& r : rs) v.push_back(r.*field);
    return fetchpipe::bench::median(v);
  };
  std::uint64_t errors = 0;
  for (const auto& r : client) errors += r.errors;
  if (client.empty()) {  // FETCHPIPE_BENCH_SIDE=baseline: report the baseline alone
    if (baseline.empty()) return;
    set_counters(state, baseline, {});
    return;
  }
  state.counters["rps"] = pick(client, &RoundResult::rps);
  state.counters["p50_us"] = pick(client, &RoundResult::p50_us);
  state.counters["p99_us"] = pick(client, &RoundResult::p99_us);
  state.counters["errors"] = static_cast<double>(errors);
  if (!baseline.empty()) {
    std::vector<double> ratios;
    for (std::size_t i = 0; i < client.size() && i < baseline.size(); ++i) {
      if (baseline[i].rps > 0) ratios.push_back(client[i].rps / baseline[i].rps);
    }
    state.counters["base_rps"] = pick(baseline, &RoundResult::rps);
    state.counters["base_p50_us"] = pick(baseline, &RoundResult::p50_us);
    state.counters["base_p99_us"] = pick(baseline, &RoundResult::p99_us);
    state.counters["ratio"] = fetchpipe::bench::median(ratios);
  }
}

double median_of(const std::vector<RoundResult>& rs, double RoundResult::*field) {
  std::vector<double> v;
  for (const auto& r : rs) v.push_back(r.*field);
  return fetchpipe::bench::median(v);
}

// Baseline and client alternately, `rounds` times each, the order flipped every round.
void paired_rows(benchmark::State& state, const std::function<std::unique_ptr<Load>()>& make_client,
                 const std::function<std::unique_ptr<Load>()>& make_baseline) {
  std::vector<RoundResult> client;
  std::vector<RoundResult> baseline;
  const auto side = fetchpipe::bench::env("FETCHPIPE_BENCH_SIDE");
  const auto t0 = SteadyClock::now();
  for (auto _ : state) {
    for (int round = 0; round < knobs().rounds; ++round) {
      auto run = [&](bool is_client) {
        if (side && *side != (is_client ? "client" : "baseline")) return;
        auto load = is_client ? make_client() : make_baseline();
        (is_client ? client : baseline).push_back(run_round(*load, knobs().timing));
      };
      const bool client_first = round % 2 == 1;
      run(client_first);
      run(!client_first);
    }
    state.SetIterationTime(fetchpipe::bench::seconds_between(t0, SteadyClock::now()));
  }
  set_counters(state, client, baseline);
}

// N event loops against one, both through the Client, and against the plain libcurl loop (one
// thread, one multi handle); CPU per request as well as req/s. The three alternate, the order
// rotated every round.
void loops_row(benchmark::State& state, std::string url, int concurrency, int loops) {
  std::vector<RoundResult> many;
  std::vector<RoundResult> one;
  std::vector<RoundResult> plain;
  auto load = [&](int side) -> std::unique_ptr<Load> {
    if (side == 2) return std::make_unique<PlainCurlLoad>(url, concurrency);
    const int n = side == 0 ? loops : 1;
    return std::make_unique<ClientLoad>(url, concurrency, [n] {
      return std::make_shared<fetchpipe::CurlTransport>(
          fetchpipe::CurlTransport::Options{.event_loops = static_cast<std::size_t>(n)});
    });
  };
  std::vector<RoundResult>* results[] = {&many, &one, &plain};
  const auto t0 = SteadyClock::now();
  for (auto _ : state) {
    for (int round = 0; round < knobs().rounds; ++round) {
      for (int i = 0; i < 3; ++i) {
        const int side = (i + round) % 3;
        auto l = load(side);
        results[side]->push_back(run_round(*l, knobs().timing));
      }
    }
    state.SetIterationTime(fetchpipe::bench::seconds_between(t0, SteadyClock::now()));
  }
  set_counters(state, many, one);
  state.counters["cpu_us_per_req"] = median_of(many, &RoundResult::cpu_us_per_req);
  state.counters["base_cpu_us_per_req"] = median_of(one, &RoundResult::cpu_us_per_req);
  std::vector<double> vs_plain;
  for (std::size_t i = 0; i < many.size() && i < plain.size(); ++i) {
    if (plain[i].rps > 0) vs_plain.push_back(many[i].rps / plain[i].rps);
  }
  state.counters["plain_rps"] = median_of(plain, &RoundResult::rps);
  state.counters["ratio_plain"] = fetchpipe::bench::median(vs_plain);
}

void curl_row(benchmark::State& state, std::string url, int concurrency) {
  paired_rows(
      state, [&] { return std::make_unique<ClientLoad>(url, concurrency, make_curl); },
      [&] { return std::make_unique<PlainCurlLoad>(url, concurrency); });
}

void httplib_row(benchmark::State& state, std::string url, int threads) {
  paired_rows(
      state,
      [&] {
        return std::make_unique<ClientLoad>(url, threads, [threads] {
          return std::make_shared<fetchpipe::HttplibTransport>(
              fetchpipe::HttplibTransport::Options{.workers = static_cast<std::size_t>(threads)});
        });
      },
      [&] { return std::make_unique<PlainHttplibLoad>(url, threads); });
}

// wrk's req/s for one run of `seconds` against `url`, or 0 when wrk cannot be run.
double run_wrk(const std::string& url, int concurrency, double seconds) {
  const std::string command = "timeout --kill-after=5 " + std::to_string(static_cast<int>(seconds) + 60) +
                              " wrk -t1 -c" + std::to_string(concurrency) + " -d" +
                              std::to_string(std::max(1, static_cast<int>(seconds + 0.5))) + "s --timeout 10s '" +
                              url + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  double rps = 0;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    if (std::sscanf(line, "Requests/sec: %lf", &rps) == 1) break;
  }
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
  }
  ::pclose(pipe);
  return rps;
}

// fetchpipe and wrk alternately, the order flipped every round, so both see the same machine
// load; ratio_wrk is the median of the per-round ratios. FETCHPIPE_BENCH_WRK=0 turns wrk off
// (then a figure from the environment, measured at another moment, is used if given).
void scale_row(benchmark::State& state, std::string url, int concurrency, const char* wrk_env) {
  std::vector<RoundResult> client;
  std::vector<double> wrk_rps;
  std::vector<double> ratios;
  const bool with_wrk = fetchpipe::bench::env_long("FETCHPIPE_BENCH_WRK", 1) != 0;
  const auto t0 = SteadyClock::now();
  for (auto _ : state) {
    const int rounds = std::clamp(knobs().rounds - 1, 1, 3);  // each round opens thousands of connections
    for (int round = 0; round < rounds; ++round) {
      double wrk = 0;
      if (with_wrk && round % 2 == 1) wrk = run_wrk(url, concurrency, knobs().scale_timing.measure_s);
      {
        ClientLoad load(url, concurrency, make_curl);
        client.push_back(run_round(load, knobs().scale_timing));
      }
      if (with_wrk && round % 2 == 0) wrk = run_wrk(url, concurrency, knobs().scale_timing.measure_s);
      if (wrk > 0) {
        wrk_rps.push_back(wrk);
        ratios.push_back(client.back().rps / wrk);
      }
    }
    state.SetIterationTime(fetchpipe::bench::seconds_between(t0, SteadyClock::now()));
  }
  set_counters(state, client, {});
  if (!ratios.empty()) {
    state.counters["wrk_rps"] = fetchpipe::bench::median(wrk_rps);
    state.counters["ratio_wrk"] = fetchpipe::bench::median(ratios);
    state.counters["wrk_same_run"] = 1;
  } else if (const double wrk = fetchpipe::bench::env_double(wrk_env, 0.0); wrk > 0) {
    state.counters["wrk_rps"] = wrk;
    state.counters["ratio_wrk"] = state.counters["rps"] / wrk;
    state.counters["wrk_same_run"] = 0;
  }
}

void register_rows(const std::string& target, const std::string& url) {
  const auto only = fetchpipe::bench::env("FETCHPIPE_BENCH_ONLY");
  auto tune = [](benchmark::internal::Benchmark* b) {
    b->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
  };
  if (!only || *only == "curl") {
    for (int c : {1, 16, 64, 256}) {
      tune(benchmark::RegisterBenchmark(("Throughput/curl/" + target + "/" + std::to_string(c)).c_str(),
                                        curl_row, url, c));
    }
  }
  if (!only || *only == "httplib") {
    for (int t : {1, 4, 16}) {
      tune(benchmark::RegisterBenchmark(("Throughput/httplib/" + target + "/" + std::to_string(t)).c_str(),
                                        httplib_row, url, t));
    }
  }
  const long loops = fetchpipe::bench::env_long("FETCHPIPE_BENCH_LOOPS", 0);
  if (loops >= 2 && loops <= 64 && (!only || *only == "loops")) {
    for (int c : {16, 64, 256}) {
      tune(benchmark::RegisterBenchmark(
          ("Throughput/curl_loops" + std::to_string(loops) + "/" + target + "/" + std::to_string(c)).c_str(),
          loops_row, url, c, static_cast<int>(loops)));
    }
  }
}

void register_scale_rows(const std::string& url) {
  const auto only = fetchpipe::bench::env("FETCHPIPE_BENCH_ONLY");
  if (only && *only != "curl" && *only != "scale") return;
  benchmark::RegisterBenchmark("Throughput/curl/nginx/4096", scale_row, url, 4096, "FETCHPIPE_WRK_RPS_4096")
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kSecond);
  benchmark::RegisterBenchmark("Throughput/curl/nginx/10000", scale_row, url, 10000, "FETCHPIPE_WRK_RPS_10000")
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kSecond);
}

}  // namespace

int main(int argc, char** argv) {
  fetchpipe::bench::raise_open_file_limit();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::unique_ptr<fetchpipe::tools::FaultServer> in_process;
  auto fixed_url = fetchpipe::bench::env("FETCHPIPE_BENCH_FIXED_URL");
  if (!fixed_url) {
    in_process = std::make_unique<fetchpipe::tools::FaultServer>();
    fixed_url = in_process->url("/fixed");
    std::fprintf(stderr, "throughput_benchmark: FETCHPIPE_BENCH_FIXED_URL unset; fault server in-process at %s\n",
                 fixed_url->c_str());
  }
  register_rows("fixed", *fixed_url);
  if (auto nginx = fetchpipe::bench::env("FETCHPIPE_BENCH_NGINX_URL")) {
    register_rows("nginx", *nginx);
    register_scale_rows(*nginx);
  } else {
    std::fprintf(stderr, "throughput_benchmark: FETCHPIPE_BENCH_NGINX_URL unset; nginx rows skipped\n");
  }
  if (auto any = fetchpipe::bench::env("FETCHPIPE_BENCH_URL")) register_rows("url", *any);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  in_process.reset();
  curl_global_cleanup();
  return 0;
}
