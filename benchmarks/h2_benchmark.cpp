// h2_benchmark — HTTP/2 throughput: fetchpipe's curl transport over ONE TLS connection with 16,
// 64 and 256 streams, against a plain libcurl multiplexing loop (same libcurl settings: 2TLS,
// CURLPIPE_MULTIPLEX, PIPEWAIT, one connection per host) in the same run, alternating rounds
// (the order flipped each round), medians; and against h2load's figure when benchmarks/run
// passes it. Rows: H2/curl/nginx/<streams>. Counters: rps, base_rps, ratio (= rps / base_rps,
// median of the per-round ratios), h2load_rps, ratio_h2load, errors, connections.
//
// Environment (benchmarks/run sets them): FETCHPIPE_BENCH_H2_URL (https URL of nginx with http2),
// FETCHPIPE_BENCH_H2_CA (its CA file), FETCHPIPE_H2LOAD_RPS_<streams>, FETCHPIPE_BENCH_ROUNDS
// (default 3), FETCHPIPE_BENCH_SECONDS (default 2), FETCHPIPE_BENCH_WARMUP (default 0.3).
// Without FETCHPIPE_BENCH_H2_URL no row runs.
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/executor.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

namespace {

using namespace std::chrono_literals;
using fetchpipe::bench::SteadyClock;

struct Target {
  std::string url;
  std::string ca_file;
};

// Requests completed while measuring, counted by whichever thread completes them.
struct Counter {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> errors{0};
  void done(bool ok) {
    if (!measuring.load(std::memory_order_relaxed)) return;
    (ok ? completed : errors).fetch_add(1, std::memory_order_relaxed);
  }
};

struct Round {
  double rps = 0;
  std::uint64_t errors = 0;
  std::uint64_t connections = 0;
};

double env_seconds(const char* name, double fallback) { return fetchpipe::bench::env_double(name, fallback); }

// Runs `body` (which starts its own work and returns a stopper) for warm-up + measurement.
template <typename Start>
Round measure(Start start) {
  Counter counter;
  auto stopper = start(counter);
  std::this_thread::sleep_for(std::chrono::duration<double>(env_seconds("FETCHPIPE_BENCH_WARMUP", 0.3)));
  counter.measuring = true;
  const auto t0 = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(env_seconds("FETCHPIPE_BENCH_SECONDS", 2.0)));
  counter.measuring = false;
  const double seconds = fetchpipe::bench::seconds_between(t0, SteadyClock::now());
  counter.stop = true;
  Round r;
  r.connections = stopper();
  r.rps = static_cast<double>(counter.completed.load()) / seconds;
  r.errors = counter.errors.load();
  return r;
}

// ---- The plain libcurl loop: what a user would write for h2 multiplexing ---------------------

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

Round plain_round(const Target& target, int streams) {
  std::thread thread;
  std::atomic<std::uint64_t> connections{0};
  return measure([&](Counter& counter) {
    thread = std::thread([&target, streams, &counter, &connections] {
      CURLM* multi = curl_multi_init();
      curl_multi_setopt(multi, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
      curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
      curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, static_cast<long>(streams));
      std::vector<CURL*> easies;
      for (int i = 0; i < streams; ++i) {
        CURL* easy = curl_easy_init();
        curl_easy_setopt(easy, CURLOPT_URL, target.url.c_str());
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
        curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(easy, CURLOPT_CAINFO, target.ca_file.c_str());
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discard);
        curl_multi_add_handle(multi, easy);
        easies.push_back(easy);
      }
      std::vector<CURL*> finished;
      int running = 0;
      std::uint64_t connects = 0;
      while (!counter.stop.load(std::memory_order_relaxed)) {
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
          if (msg->msg != CURLMSG_DONE) continue;
          long status = 0;
          long opened = 0;
          curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
          curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &opened);
          connects += static_cast<std::uint64_t>(opened);
          counter.done(msg->data.result == CURLE_OK && status == 200);
          finished.push_back(msg->easy_handle);
        }
        for (CURL* easy : finished) curl_multi_remove_handle(multi, easy);
        for (CURL* easy : finished) curl_multi_add_handle(multi, easy);
        finished.clear();
        curl_multi_poll(multi, nullptr, 0, 100, nullptr);
      }
      for (CURL* easy : easies) {
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
      }
      curl_multi_cleanup(multi);
      connections = connects;
    });
    return [&] {
      thread.join();
      return connections.load();
    };
  });
}

// ---- fetchpipe: the Client on CurlTransport with HTTP/2, `streams` fetches in flight -------------

class ClientLoad {
 public:
  ClientLoad(const Target& target, int streams, Counter& counter) : counter_(counter), url_(target.url) {
    transport_ = std::make_shared<fetchpipe::CurlTransport>(fetchpipe::CurlTransport::Options{
        .max_host_connections = 1,
        .http_version = fetchpipe::HttpVersion::http2,
        .max_streams_per_connection = static_cast<std::size_t>(streams)});
    fetchpipe::ClientOptions options;
    options.transport = transport_;
    options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
    options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();
    options.callback_executor = std::make_shared<fetchpipe::InlineExecutor>();  // as the plain loop
    options.tls.ca_file = target.ca_file;
    client_ = std::make_unique<fetchpipe::Client>(std::move(options));
    for (int i = 0; i < streams; ++i) launch();
  }

  std::uint64_t stop() {
    const auto give_up = SteadyClock::now() + 15s;
    while (in_flight_.load() > 0 && SteadyClock::now() < give_up) std::this_thread::sleep_for(1ms);
    client_.reset();
    return transport_->stats().connections_opened;
  }

 private:
  void launch() {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    client_->fetch(fetchpipe::Request{.url = url_},
                   fetchpipe::Callbacks{
                       .on_success = [this](fetchpipe::Response r) { ended(r.status == 200); },
                       .on_failure = [this](fetchpipe::Error) { ended(false); },
                       .on_cancel = [this](fetchpipe::Error) { ended(false); },
                   });
  }
  void ended(bool ok) {
    counter_.done(ok);
    if (!counter_.stop.load(std::memory_order_relaxed)) launch();
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }

  Counter& counter_;
  std::string url_;
  std::atomic<int> in_flight_{0};
  std::shared_ptr<fetchpipe::CurlTransport> transport_;
  std::unique_ptr<fetchpipe::Client> client_;
};

Round client_round(const Target& target, int streams) {
  std::unique_ptr<ClientLoad> load;
  return measure([&](Counter& counter) {
    load = std::make_unique<ClientLoad>(target, streams, counter);
    return [&] { return load->stop(); };
  });
}

void h2_row(benchmark::State& state, const Target& target, int streams) {
  const int rounds = static_cast<int>(fetchpipe::bench::env_long("FETCHPIPE_BENCH_ROUNDS", 3));
  std::vector<Round> client;
  std::vector<Round> plain;
  const auto t0 = SteadyClock::now();
  for (auto _ : state) {
    for (int round = 0; round < rounds; ++round) {
      if (round % 2 == 0) {
        plain.push_back(plain_round(target, streams));
        client.push_back(client_round(target, streams));
      } else {
        client.push_back(client_round(target, streams));
        plain.push_back(plain_round(target, streams));
      }
    }
    state.SetIterationTime(fetchpipe::bench::seconds_between(t0, SteadyClock::now()));
  }
  std::vector<double> rps;
  std::vector<double> base;
  std::vector<double> ratios;
  std::uint64_t errors = 0;
  std::uint64_t connections = 0;
  for (std::size_t i = 0; i < client.size(); ++i) {
    rps.push_back(client[i].rps);
    base.push_back(plain[i].rps);
    if (plain[i].rps > 0) ratios.push_back(client[i].rps / plain[i].rps);
    errors += client[i].errors;
    connections = std::max(connections, client[i].connections);
  }
  state.counters["rps"] = fetchpipe::bench::median(rps);
  state.counters["base_rps"] = fetchpipe::bench::median(base);
  state.counters["ratio"] = fetchpipe::bench::median(ratios);
  state.counters["errors"] = static_cast<double>(errors);
  state.counters["connections"] = static_cast<double>(connections);  // most in one client round
  const double h2load = fetchpipe::bench::env_double(("FETCHPIPE_H2LOAD_RPS_" + std::to_string(streams)).c_str(), 0);
  if (h2load > 0) {
    state.counters["h2load_rps"] = h2load;
    state.counters["ratio_h2load"] = state.counters["rps"] / h2load;
  }
}

}  // namespace

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  benchmark::Initialize(&argc, argv);
  static Target target;
  if (const auto url = fetchpipe::bench::env("FETCHPIPE_BENCH_H2_URL")) {
    target.url = *url;
    target.ca_file = fetchpipe::bench::env("FETCHPIPE_BENCH_H2_CA").value_or("");
    for (const int streams : {16, 64, 256}) {
      benchmark::RegisterBenchmark(("H2/curl/nginx/" + std::to_string(streams)).c_str(), h2_row, target, streams)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
    }
  } else {
    std::fprintf(stderr, "h2_benchmark: FETCHPIPE_BENCH_H2_URL is not set; no row runs (see benchmarks/run)\n");
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  curl_global_cleanup();
  return 0;
}
