#include "bench_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fetchpipe/client.hpp>
#include <fetchpipe/executor.hpp>
#include <fetchpipe/policies/default_retry_policy.hpp>
#include <fetchpipe/policies/exponential_backoff.hpp>

#include "bench_latency.hpp"
#include "json_writer.hpp"
#include "transports.hpp"

namespace fetchpipe::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The shared state of one run. Completions arrive on transport threads; each either starts the
// next fetch in its slot or retires the slot. A request costs atomics only (counters and one
// histogram bucket): the lock is taken once per slot, when it retires, to wake run().
class ClosedLoop {
 public:
  ClosedLoop(Client& client, const BenchConfig& config)
      : client_(client), config_(config), request_{.url = config.url} {}

  void run() {
    start_ = SteadyClock::now();
    end_ = start_ + config_.duration;
    slots_.store(config_.concurrency);
    for (int i = 0; i < config_.concurrency; ++i) next();
    std::unique_lock lock(mutex_);
    while (!all_retired_) {
      done_cv_.wait_for(lock, std::chrono::milliseconds{100});
      if (config_.stop != nullptr && config_.stop->load()) stopping_.store(true);
      if (config_.progress) {
        const double fraction = config_.requests ? static_cast<double>(completed_.load()) /
                                                       static_cast<double>(*config_.requests)
                                                 : std::chrono::duration<double>(SteadyClock::now() - start_) /
                                                       config_.duration;
        lock.unlock();
        config_.progress(std::clamp(fraction, 0.0, 1.0));
        lock.lock();
      }
    }
    finish_ = SteadyClock::now();
  }

  // Call after run() returned: every slot is retired, no callback records any more.
  [[nodiscard]] BenchRow row() const {
    BenchRow row;
    row.transport = config_.transport;
    row.concurrency = config_.concurrency;
    row.requests = completed_.load();
    row.errors = errors_.load();
    row.seconds = std::chrono::duration<double>(finish_ - start_).count();
    row.req_per_s = row.seconds > 0 ? static_cast<double>(row.requests) / row.seconds : 0;
    row.p50_ms = latency_.percentile_ms(0.50);
    row.p99_ms = latency_.percentile_ms(0.99);
    return row;
  }

 private:
  // Starts the next fetch in a slot, or retires the slot when the run is over.
  void next() {
    const bool over = stopping_.load(std::memory_order_relaxed) ||
                      (config_.requests ? started_.fetch_add(1, std::memory_order_relaxed) >= *config_.requests
                                        : SteadyClock::now() >= end_);
    if (over) {
      if (slots_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mutex_);
        all_retired_ = true;
        done_cv_.notify_all();
      }
      return;
    }
    const auto t0 = SteadyClock::now();
    client_.fetch(request_, Callbacks{
                                .on_success = [this, t0](Response) { completed(t0, true); },
                                .on_failure = [this, t0](Error) { completed(t0, false); },
                                .on_cancel = [this, t0](Error) { completed(t0, false); },
                            });
  }

  void completed(SteadyClock::time_point t0, bool ok) {
    if (ok) {
      latency_.record(SteadyClock::now() - t0);
    } else {
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
    completed_.fetch_add(1, std::memory_order_relaxed);
    next();  // fetch() is safe from inside a callback
  }

  Client& client_;
  const BenchConfig& config_;
  const Request request_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool all_retired_ = false;  // guarded by mutex_
  std::atomic<int> slots_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> errors_{0};
  BenchLatency latency_;
  SteadyClock::time_point start_{};
  SteadyClock::time_point end_{};
  SteadyClock::time_point finish_{};
};

}  // namespace

BenchRow run_bench(const BenchConfig& config) {
  ClientOptions options;
  TransportSettings settings;
  settings.event_loops = bench_event_loops(config.concurrency, std::thread::hardware_concurrency());
  options.transport = make_transport(config.transport, static_cast<std::size_t>(config.concurrency), settings);
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(DefaultRetryPolicy::Options{.max_attempts = 1});
  options.backoff_policy = std::make_shared<ExponentialBackoff>();
  // Completions only record a number and start the next fetch: cheap enough to run on the
  // transport's thread, which keeps a thread hop per request out of the measurement.
  options.callback_executor = std::make_shared<InlineExecutor>();
  Client client(std::move(options));
  ClosedLoop loop(client, config);
  loop.run();
  return loop.row();
}

std::string format_bench_header() {
  return fmt::format("{:<10} {:>11} {:>10} {:>11} {:>9} {:>9} {:>7}\n", "transport", "concurrency", "requests",
                     "req/s", "p50 ms", "p99 ms", "errors");
}

std::string format_bench_row(const BenchRow& row) {
  return fmt::format("{:<10} {:>11} {:>10} {:>11.1f} {:>9.3f} {:>9.3f} {:>7}\n", row.transport, row.concurrency,
                     row.requests, row.req_per_s, row.p50_ms, row.p99_ms, row.errors);
}

std::string bench_rows_to_json(const std::string& url, const std::vector<BenchRow>& rows) {
  JsonWriter w;
  w.begin_object().key("url").value(url).key("rows").begin_array();
  for (const auto& r : rows) {
    w.begin_object();
    w.key("transport").value(r.transport);
    w.key("concurrency").value(r.concurrency);
    w.key("requests").value(r.requests);
    w.key("req_per_s").value(r.req_per_s);
    w.key("p50_ms").value(r.p50_ms);
    w.key("p99_ms").value(r.p99_ms);
    w.key("errors").value(r.errors);
    w.key("seconds").value(r.seconds);
    w.end_object();
  }
  w.end_array().end_object();
  return w.str();
}

}  // namespace fetchpipe::cli
