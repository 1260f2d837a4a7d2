// Private to policies/: a forgetting histogram of latencies for AdaptiveHedging.
//
// Buckets split each power of two of nanoseconds into 8 equal parts (so a bucket is at most
// 12.5 % wide), from 1 µs (2^10 ns) to 2^40 ns. A quantile is read as the upper edge of the bucket
// that holds it. Not thread-safe: its owner locks.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>

namespace fetchpipe::detail {

class LatencyHistogram {
 public:
  void add(std::chrono::nanoseconds latency, std::uint32_t window) {
    ++counts_[bucket_of(latency)];
    if (++total_ < window) return;
    // Halve everything: old samples fade, the shape stays.
    total_ = 0;
    for (auto& c : counts_) {
      c /= 2;
      total_ += c;
    }
  }

  [[nodiscard]] std::uint32_t total() const noexcept { return total_; }

  // The upper edge of the bucket holding quantile q (0 < q < 1). total() must be > 0.
  [[nodiscard]] std::chrono::nanoseconds quantile(double q) const {
    const auto wanted = static_cast<std::uint64_t>(q * static_cast<double>(total_)) + 1;  // the rank
    std::uint64_t seen = 0;
    std::size_t i = 0;
    for (; i < kBuckets - 1; ++i) {
      seen += counts_[i];
      if (seen >= wanted) break;
    }
    return std::chrono::nanoseconds{upper_edge(i)};
  }

 private:
  static constexpr int kSubBits = 3;  // 8 buckets per octave
  static constexpr int kLowOctave = 10;   // 1,024 ns
  static constexpr int kHighOctave = 40;  // about 1,100 s
  static constexpr std::size_t kBuckets = static_cast<std::size_t>(kHighOctave - kLowOctave) << kSubBits;

  static std::size_t bucket_of(std::chrono::nanoseconds latency) {
    const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 1));
    const int octave = std::bit_width(ns) - 1;
    if (octave < kLowOctave) return 0;
    if (octave >= kHighOctave) return kBuckets - 1;
    const auto sub = static_cast<std::size_t>((ns >> (octave - kSubBits)) & ((1u << kSubBits) - 1));
    return (static_cast<std::size_t>(octave - kLowOctave) << kSubBits) + sub;
  }

  // The first latency past bucket i.
  static std::int64_t upper_edge(std::size_t i) {
    const int octave = static_cast<int>(i >> kSubBits) + kLowOctave;
    const auto sub = static_cast<std::int64_t>(i & ((1u << kSubBits) - 1));
    return (std::int64_t{1} << octave) + ((sub + 1) << (octave - kSubBits));
  }

  std::array<std::uint32_t, kBuckets> counts_{};
  std::uint32_t total_ = 0;
};

}  // namespace fetchpipe::detail
