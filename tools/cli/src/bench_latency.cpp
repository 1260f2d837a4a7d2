#include "bench_latency.hpp"

#include <bit>
#include <cmath>

namespace fetchpipe::cli {

std::size_t BenchLatency::index_of(std::uint64_t ns) noexcept {
  constexpr std::uint64_t kExact = std::uint64_t{1} << kSubBits;
  if (ns < kExact) return static_cast<std::size_t>(ns);
  const unsigned exponent = static_cast<unsigned>(std::bit_width(ns)) - 1;  // >= kSubBits
  const std::uint64_t sub = (ns >> (exponent - kSubBits)) & (kExact - 1);
  return static_cast<std::size_t>(((exponent - kSubBits + 1) << kSubBits) + sub);
}

double BenchLatency::middle_of(std::size_t index) noexcept {
  constexpr std::size_t kExact = std::size_t{1} << kSubBits;
  if (index < kExact) return static_cast<double>(index);
  const unsigned shift = static_cast<unsigned>(index >> kSubBits) - 1;  // exponent - kSubBits
  const double low = std::ldexp(static_cast<double>(kExact + (index & (kExact - 1))), static_cast<int>(shift));
  const double width = std::ldexp(1.0, static_cast<int>(shift));
  return low + (width - 1) / 2;
}

void BenchLatency::record(std::chrono::nanoseconds elapsed) noexcept {
  const std::uint64_t ns = elapsed.count() > 0 ? static_cast<std::uint64_t>(elapsed.count()) : 0;
  buckets_[index_of(ns)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t BenchLatency::count() const noexcept {
  std::uint64_t total = 0;
  for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
  return total;
}

double BenchLatency::percentile_ms(double p) const noexcept {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return middle_of(i) / 1e6;
  }
  return middle_of(kBuckets - 1) / 1e6;
}

}  // namespace fetchpipe::cli
