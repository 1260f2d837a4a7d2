// fetchpipe/policies/exponential_backoff.hpp — exponential backoff with a cap and jitter.
//
// The base delay before retry n (n >= 1) is  min(max, initial * multiplier^(n-1)), computed so it
// never overflows at any n. Jitter then picks the actual wait:
//   none          the base delay
//   full          uniform in [0, base]                      (default; spreads clients best)
//   equal         base/2 + uniform in [0, base/2]
//   decorrelated  min(max, uniform in [initial, 3 * previous wait]), starting from `initial`
// Retry numbers below 1 count as 1. Every wait lies in [0, max]; decorrelated waits lie in
// [initial, max] (and are all 0 when initial is 0). Decorrelated jitter keeps the previous wait;
// retry 1 starts its sequence afresh.
// Random numbers come from xoshiro256** (seeded through SplitMix64: 32 bytes of state, so a clone
// is cheap), mapped to [0, 1) by hand (top 53 bits times 2^-53) so a seed gives the same waits
// with every standard library. With `seed` set, every
// sequence is reproducible: the n-th clone of one prototype always draws the same numbers, and
// different clones draw different ones; without it, each prototype seeds from std::random_device.
// clone() returns a fresh state (no decorrelated memory) with its own derived seed. A copy keeps
// the original's state and shares its clone numbering, so clones of the copy and of the original
// never repeat a sequence.
//
// Example:
//   fetchpipe::ExponentialBackoff backoff({.initial = 100ms, .multiplier = 2, .max = 10s,
//                                          .jitter = fetchpipe::Jitter::full, .seed = 42});
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "fetchpipe/backoff_policy.hpp"

namespace fetchpipe {

enum class Jitter { none, full, equal, decorrelated };
[[nodiscard]] std::string_view to_string(Jitter jitter) noexcept;
[[nodiscard]] std::optional<Jitter> jitter_from_string(std::string_view name) noexcept;

class ExponentialBackoff final : public BackoffPolicy {
 public:
  struct Options {
    std::chrono::nanoseconds initial{std::chrono::milliseconds{100}};  // >= 0
    double multiplier = 2.0;                                           // >= 1, finite
    std::chrono::nanoseconds max{std::chrono::seconds{10}};            // >= initial
    Jitter jitter = Jitter::full;
    std::optional<std::uint64_t> seed{};  // for reproducible waits; unset: from std::random_device
  };

  ExponentialBackoff();  // the defaults above
  // Throws std::invalid_argument naming the field and value when an option is out of range.
  explicit ExponentialBackoff(Options options);
  ExponentialBackoff(const ExponentialBackoff& other);

  [[nodiscard]] std::chrono::nanoseconds next_delay(int retry) override;
  [[nodiscard]] std::unique_ptr<BackoffPolicy> clone() const override;
  // The delay before jitter for retry n; exposed for tests and tools.
  [[nodiscard]] std::chrono::nanoseconds base_delay(int retry) const noexcept;
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  // Base delays of retries 1..kTabled, computed once per prototype and copied into its clones:
  // pow() in long double costs ~100 ns, a table read nothing. Later retries compute theirs.
  static constexpr int kTabled = 32;
  struct CloneOf {};
  ExponentialBackoff(Options options, std::uint64_t stream_seed);
  ExponentialBackoff(CloneOf, const ExponentialBackoff& prototype, std::uint64_t stream_seed);
  void seed_stream(std::uint64_t stream_seed) noexcept;
  [[nodiscard]] std::uint64_t next_random() noexcept;

  Options options_;
  std::array<std::uint64_t, 4> rng_{};                   // xoshiro256** state
  std::chrono::nanoseconds previous_{0};                 // decorrelated jitter's memory
  std::shared_ptr<std::atomic<std::uint64_t>> clones_;   // numbers the clones of one prototype
  std::uint64_t root_seed_ = 0;
  std::array<std::chrono::nanoseconds, kTabled> base_{};  // base_[n - 1] = base_delay(n)
};

}  // namespace fetchpipe
