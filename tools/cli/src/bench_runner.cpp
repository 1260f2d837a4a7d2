#include "bench_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>

#include <fetchpipe/client.hpp>
#include <fetchpipe/executor.hpp>
#include <fetchpipe/policies/default_retry_policy.hpp>
#include <fetchpipe/policies/exponential_backoff.hpp>

#include "json_writer.hpp"
#include "transports.hpp"

namespace fetchpipe::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The shared state of one run. Completions arrive on transport threads; each either starts the
// next fetch in its slot or retires the slot.
class ClosedLoop {
 public:
  ClosedLoop(Client& client, const BenchConfig& config)
      : client_(client), config_(config), request_{.url = config.url} {
    latencies_ns_.reserve(1 << 16);
  }

  void run() {
    start_ = SteadyClock::now();
    end_ = start_ + config_.duration;
    {
      std::lock_guard lock(mutex_);
      slots_ = config_.concurrency;
    }
    for (int i = 0; i < config_.concurrency; ++i) next();
    std::unique_lock lock(mutex_);
    while (slots_ > 0) {
      done_cv_.wait_for(lock, std::chrono::milliseconds{100});
      if (config_.stop != nullptr && config_.stop->load()) stopping_ = true;
      if (config_.progress) {
        const double fraction = config_.requests
                                    ? static_cast<double>(completed_) / static_cast<double>(*config_.requests)
                                    : std::chrono::duration<double>(SteadyClock::now() - start_) / config_.duration;
        lock.unlock();
        config_.progress(std::clamp(fraction, 0.0, 1.0));
        lock.lock();
      }
    }
    finish_ = SteadyClock::now();
  }

  [[nodiscard]] BenchRow row() {
    std::lock_guard lock(mutex_);
    BenchRow row;
    row.transport = config_.transport;
    row.concurrency = config_.concurrency;
    row.requests = completed_;
    row.errors = errors_;
    row.seconds = std::chrono::duration<double>(finish_ - start_).count();
    row.req_per_s = row.seconds > 0 ? static_cast<double>(completed_) / row.seconds : 0;
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    row.p50_ms = percentile(0.50);
    row.p99_ms = percentile(0.99);
    return row;
  }

 private:
  // Nearest-rank percentile, in ms.
  double percentile(double p) const {
    if (latencies_ns_.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(latencies_ns_.size())));
    const auto index = std::min(latencies_ns_.size() - 1, rank == 0 ? 0 : rank - 1);
    return static_cast<double>(latencies_ns_[index]) / 1e6;
  }

  // Starts the next fetch in a slot, or retires the slot when the run is over.
  void next() {
    {
      std::lock_guard lock(mutex_);
      const bool over = stopping_ || (config_.requests ? started_ >= *config_.requests : SteadyClock::now() >= end_);
      if (over) {
        if (--slots_ == 0) done_cv_.notify_all();
        return;
      }
      ++started_;
    }
    const auto t0 = SteadyClock::now();
    client_.fetch(request_, Callbacks{
                                .on_success = [this, t0](Response) { completed(t0, true); },
                                .on_failure = [this, t0](Error) { completed(t0, false); },
                                .on_cancel = [this, t0](Error) { completed(t0, false); },
                            });
  }

  void completed(SteadyClock::time_point t0, bool ok) {
    const auto elapsed = SteadyClock::now() - t0;
    {
      std::lock_guard lock(mutex_);
      ++completed_;
      if (ok) latencies_ns_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
      else ++errors_;
    }
    next();  // fetch() is safe from inside a callback
  }

  Client& client_;
  const BenchConfig& config_;
  const Request request_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  int slots_ = 0;
  bool stopping_ = false;
  std::uint64_t started_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t errors_ = 0;
  std::vector<std::int64_t> latencies_ns_;
  SteadyClock::time_point start_{};
  SteadyClock::time_point end_{};
  SteadyClock::time_point finish_{};
};

}  // namespace

BenchRow run_bench(const BenchConfig& config) {
  ClientOptions options;
  options.transport = make_transport(config.transport, static_cast<std::size_t>(config.concurrency));
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
