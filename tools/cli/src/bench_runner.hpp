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
#include <cstddef>
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

// How many curl event loops a run of `concurrency` fetches gets on a machine with `cores`: one
// per 32 connections, at most one per core (and at most 64). A loop thread is CPU-bound on its
// own, so spreading connections over cores is what lets a run go past what one thread can do;
// below 32 connections per loop each pass of a loop serves too few transfers to pay for itself
// (BENCHMARKS.md, "Several event loops").
[[nodiscard]] constexpr std::size_t bench_event_loops(int concurrency, unsigned cores) noexcept {
  const std::size_t by_connections = concurrency > 0 ? static_cast<std::size_t>(concurrency) / 32 : 0;
  const std::size_t limit = cores < 1 ? 1 : (cores > 64 ? 64 : cores);
  return by_connections < 1 ? 1 : (by_connections > limit ? limit : by_connections);
}

// The header line and one line per row, aligned.
[[nodiscard]] std::string format_bench_header();
[[nodiscard]] std::string format_bench_row(const BenchRow& row);
// {"url": ..., "rows": [{"transport", "concurrency", "requests", "req_per_s", "p50_ms", "p99_ms",
// "errors", "seconds"}, ...]}
[[nodiscard]] std::string bench_rows_to_json(const std::string& url, const std::vector<BenchRow>& rows);

}  // namespace fetchpipe::cli
