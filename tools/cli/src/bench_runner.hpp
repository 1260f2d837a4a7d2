// bench_runner.hpp — a closed-loop throughput run through the fetchpipe Client.
//
// Keeps `concurrency` fetches in flight: each completion records its latency and starts the next,
// until the duration has passed or the request count is reached. No retries (max_attempts 1), so
// an error is counted, not hidden. Used by `fetchpipe bench` and by the demo's table.
//
//   BenchRow row = run_bench({.transport = "curl", .concurrency = 16, .url = server.url("/fixed")});
//   fmt::print("{}", format_bench_table({row}));
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fetchpipe::cli {

struct BenchConfig {
  std::string transport = "curl";
  int concurrency = 1;
  std::chrono::nanoseconds duration{std::chrono::seconds{3}};
  std::optional<std::uint64_t> requests{};  // when set, replaces duration
  std::string url{};
  // Called about ten times a second with the fraction done, 0..1. Optional.
  std::function<void(double)> progress{};
  // Set to true to end the run early (SIGINT); in-flight fetches finish or are cancelled.
  const std::atomic<bool>* stop = nullptr;
};

struct BenchRow {
  std::string transport;
  int concurrency = 0;
  std::uint64_t requests = 0;  // completed, errors included
  std::uint64_t errors = 0;
  double seconds = 0;
  double req_per_s = 0;
  double p50_ms = 0;  // of successful requests
  double p99_ms = 0;
};

[[nodiscard]] BenchRow run_bench(const BenchConfig& config);

// The header line and one line per row, aligned.
[[nodiscard]] std::string format_bench_header();
[[nodiscard]] std::string format_bench_row(const BenchRow& row);
// {"url": ..., "rows": [{"transport", "concurrency", "requests", "req_per_s", "p50_ms", "p99_ms",
// "errors", "seconds"}, ...]}
[[nodiscard]] std::string bench_rows_to_json(const std::string& url, const std::vector<BenchRow>& rows);

}  // namespace fetchpipe::cli
