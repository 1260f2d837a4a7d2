// bench_support.hpp — small helpers shared by fetchpipe's benchmark binaries (not installed).
//
// LatencyHistogram records latencies from any thread without a lock and answers percentiles with
// about 1.6% resolution; the rest reads the environment the `benchmarks/run` script sets up (server
// URLs, round counts) and the process facts the scale benchmark reports (threads, RSS, fd limit).
//
//   fetchpipe::bench::LatencyHistogram h;
//   h.record(std::chrono::microseconds{120});
//   double p99_us = h.percentile_us(0.99);
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fetchpipe::bench {

// Log-linear buckets over nanoseconds: exact below 64 ns, then 64 buckets per power of two.
class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds latency) noexcept;
  void reset() noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept;
  // The latency below which a fraction `q` (0..1) of the recorded ones lie, in microseconds;
  // 0 when nothing was recorded.
  [[nodiscard]] double percentile_us(double q) const noexcept;

 private:
  static constexpr std::size_t kSubBuckets = 64;
  static constexpr std::size_t kOctaves = 42;  // up to ~2^47 ns, well over a day
  static constexpr std::size_t kBuckets = kSubBuckets + kOctaves * kSubBuckets;
  static std::size_t index_of(std::uint64_t ns) noexcept;
  static std::uint64_t lower_bound_of(std::size_t index) noexcept;

  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

// The value of an environment variable, or nullopt when it is unset or empty.
[[nodiscard]] std::optional<std::string> env(const char* name);
[[nodiscard]] double env_double(const char* name, double fallback);
[[nodiscard]] long env_long(const char* name, long fallback);

// "http://host:port/path?q" -> {"http://host:port", "/path?q"}; the path defaults to "/".
struct SplitUrl {
  std::string origin;
  std::string target;
};
[[nodiscard]] SplitUrl split_url(std::string_view url);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
std::uint64_t raise_open_file_limit();
// Threads of this process right now (entries in /proc/self/task).
[[nodiscard]] std::size_t thread_count();
// Peak resident set size of this process so far, in KiB (getrusage).
[[nodiscard]] long peak_rss_kib();
// Current resident set size, in KiB (/proc/self/statm).
[[nodiscard]] long current_rss_kib();

[[nodiscard]] double median(std::vector<double> values);

using SteadyClock = std::chrono::steady_clock;
[[nodiscard]] inline double seconds_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace fetchpipe::bench
