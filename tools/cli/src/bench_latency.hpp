// bench_latency.hpp — per-request latencies for `fetchpipe bench`, recorded without a lock or an
// allocation, so the measuring is never what limits the run.
//
// A fixed table of atomic counters over log-linear buckets: exact below 64 ns, then 64 buckets
// per power of two, so a percentile is off by at most 1/128 of its value (reported at the middle
// of its bucket). record() is one relaxed fetch_add and may run on many threads at once; read the
// percentiles once the recording threads are done.
//
//   BenchLatency latency;
//   latency.record(std::chrono::microseconds{250});   // from any thread
//   double p99 = latency.percentile_ms(0.99);
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace fetchpipe::cli {

class BenchLatency {
 public:
  void record(std::chrono::nanoseconds elapsed) noexcept;
  // Nearest rank over every value recorded, in milliseconds; 0 when nothing was recorded.
  [[nodiscard]] double percentile_ms(double p) const noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept;

 private:
  static constexpr unsigned kSubBits = 6;  // 64 buckets per power of two
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) << kSubBits;
  [[nodiscard]] static std::size_t index_of(std::uint64_t ns) noexcept;
  [[nodiscard]] static double middle_of(std::size_t index) noexcept;

  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

}  // namespace fetchpipe::cli
