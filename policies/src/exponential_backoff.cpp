#include "fetchpipe/policies/exponential_backoff.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "duration_text.hpp"

namespace fetchpipe {
namespace {

using std::chrono::nanoseconds;

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;  // 2^64 / golden ratio, SplitMix64's step

// SplitMix64's finalizer: a bijection that spreads every input bit over the whole output.
std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Turns (root seed, stream index) into a well-spread 64-bit seed, so that neighbouring clone
// indices do not start the generator from near-identical states.
std::uint64_t stream_seed(std::uint64_t root, std::uint64_t index) noexcept {
  return mix64(root + (index + 1) * kGolden);
}

std::uint64_t random_root_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ static_cast<std::uint64_t>(device());
}

// Uniform in [0, 1) from the top 53 bits of one 64-bit draw. Done by hand rather than with
// std::uniform_real_distribution, whose output differs between standard libraries: this way a
// seed gives the same waits everywhere.
long double unit_interval(std::uint64_t draw) noexcept { return static_cast<long double>(draw >> 11) * 0x1.0p-53L; }

// Converts a non-negative long double (possibly +inf) to nanoseconds, clamped to [lo, hi]. The
// comparison happens before the cast, so the cast never sees a value it cannot represent.
nanoseconds clamp_to(long double value, nanoseconds lo, nanoseconds hi) noexcept {
  if (!(value < static_cast<long double>(hi.count()))) return hi;
  if (!(value > static_cast<long double>(lo.count()))) return lo;
  return nanoseconds{static_cast<nanoseconds::rep>(value)};
}

// min(max, initial * multiplier^(retry-1)) for retry >= 1, never overflowing. In long double,
// pow() saturates to +inf instead of overflowing, and initial > 0 rules out 0 * inf; clamp_to then
// caps at max. retry - 1 is formed in long double: no int overflow.
nanoseconds compute_base_delay(const ExponentialBackoff::Options& o, int retry) noexcept {
  if (o.initial <= nanoseconds::zero()) return nanoseconds::zero();
  const long double exponent = retry <= 1 ? 0.0L : static_cast<long double>(retry) - 1.0L;
  const long double growth = std::pow(static_cast<long double>(o.multiplier), exponent);
  const long double base = static_cast<long double>(o.initial.count()) * growth;
  return clamp_to(base, nanoseconds::zero(), o.max);
}

void validate(const ExponentialBackoff::Options& o) {
  using detail::duration_text;
  if (o.initial < nanoseconds::zero()) {
    throw std::invalid_argument(
        fmt::format("ExponentialBackoff: initial must be >= 0, got {}", duration_text(o.initial)));
  }
  if (!std::isfinite(o.multiplier)) {
    throw std::invalid_argument(
        fmt::format("ExponentialBackoff: multiplier must be finite, got {}", o.multiplier));
  }
  if (o.multiplier < 1.0) {
    throw std::invalid_argument(
        fmt::format("ExponentialBackoff: multiplier must be >= 1, got {}", o.multiplier));
  }
  if (o.max < o.initial) {
    throw std::invalid_argument(fmt::format("ExponentialBackoff: max must be >= initial ({}), got {}",
                                            duration_text(o.initial), duration_text(o.max)));
  }
  switch (o.jitter) {
    case Jitter::none:
    case Jitter::full:
    case Jitter::equal:
    case Jitter::decorrelated: return;
  }
  throw std::invalid_argument(
      fmt::format("ExponentialBackoff: jitter has no such value, got {}", static_cast<int>(o.jitter)));
}

}  // namespace

std::string_view to_string(Jitter jitter) noexcept {
  switch (jitter) {
    case Jitter::none: return "none";
    case Jitter::full: return "full";
    case Jitter::equal: return "equal";
    case Jitter::decorrelated: return "decorrelated";
  }
  return "unknown";
}

std::optional<Jitter> jitter_from_string(std::string_view name) noexcept {
  for (auto j : {Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated}) {
    if (to_string(j) == name) return j;
  }
  return std::nullopt;
}

ExponentialBackoff::ExponentialBackoff() : ExponentialBackoff(Options{}) {}

ExponentialBackoff::ExponentialBackoff(Options options)
    : ExponentialBackoff(options, options.seed ? *options.seed : random_root_seed()) {}

ExponentialBackoff::ExponentialBackoff(Options options, std::uint64_t stream_seed_value)
    : options_(options),
      previous_(options.initial),
      clones_(std::make_shared<std::atomic<std::uint64_t>>(0)),
      root_seed_(stream_seed_value) {
  validate(options_);
  // Once the base reaches max it stays there (multiplier >= 1): the rest of the table is max.
  for (int n = 1; n <= kTabled; ++n) {
    base_[static_cast<std::size_t>(n - 1)] =
        n > 1 && base_[static_cast<std::size_t>(n - 2)] == options_.max ? options_.max : compute_base_delay(options_, n);
  }
  // Stream 0 of a root is the object's own; clone k (0-based) gets stream k + 1.
  seed_stream(stream_seed(root_seed_, 0));
}

// A clone: the prototype's options and base table (already validated and computed), a fresh state.
ExponentialBackoff::ExponentialBackoff(CloneOf, const ExponentialBackoff& prototype, std::uint64_t stream_seed_value)
    : options_(prototype.options_),
      previous_(prototype.options_.initial),
      clones_(std::make_shared<std::atomic<std::uint64_t>>(0)),
      root_seed_(stream_seed_value),
      base_(prototype.base_) {
  seed_stream(stream_seed(root_seed_, 0));
}

// A copy continues exactly where the original is (same engine state and memory) and shares its
// clone numbering, so clones taken from the copy and from the original never repeat a stream.
ExponentialBackoff::ExponentialBackoff(const ExponentialBackoff& other)
    : options_(other.options_),
      rng_(other.rng_),
      previous_(other.previous_),
      clones_(other.clones_),
      root_seed_(other.root_seed_),
      base_(other.base_) {}

std::unique_ptr<BackoffPolicy> ExponentialBackoff::clone() const {
  const std::uint64_t index = clones_->fetch_add(1, std::memory_order_relaxed);
  // The clone starts from a fresh state: decorrelated memory back at `initial`, a generator
  // seeded for this clone's stream, and its own clone numbering.
  return std::unique_ptr<BackoffPolicy>(new ExponentialBackoff(CloneOf{}, *this, stream_seed(root_seed_, index + 1)));
}

// xoshiro256** (Blackman and Vigna), its four words filled by SplitMix64 from the stream's seed:
// never all zero, since SplitMix64 is a bijection of a counter that visits four distinct values.
void ExponentialBackoff::seed_stream(std::uint64_t seed) noexcept {
  for (auto& word : rng_) {
    seed += kGolden;
    word = mix64(seed);
  }
}

std::uint64_t ExponentialBackoff::next_random() noexcept {
  const std::uint64_t result = std::rotl(rng_[1] * 5, 7) * 9;
  const std::uint64_t t = rng_[1] << 17;
  rng_[2] ^= rng_[0];
  rng_[3] ^= rng_[1];
  rng_[1] ^= rng_[2];
  rng_[0] ^= rng_[3];
  rng_[2] ^= t;
  rng_[3] = std::rotl(rng_[3], 45);
  return result;
}

nanoseconds ExponentialBackoff::base_delay(int retry) const noexcept {
  if (retry <= 1) return base_[0];
  if (retry <= kTabled) return base_[static_cast<std::size_t>(retry - 1)];
  return base_[kTabled - 1] == options_.max ? options_.max : compute_base_delay(options_, retry);
}

nanoseconds ExponentialBackoff::next_delay(int retry) {
  const nanoseconds base = base_delay(retry);
  const auto base_ld = static_cast<long double>(base.count());
  switch (options_.jitter) {
    case Jitter::none: return base;
    case Jitter::full: return clamp_to(unit_interval(next_random()) * base_ld, nanoseconds::zero(), base);
    case Jitter::equal: {
      const long double half = base_ld / 2.0L;
      return clamp_to(half + unit_interval(next_random()) * half, nanoseconds::zero(), base);
    }
    case Jitter::decorrelated: {
      // Retry 1 starts a new sequence, so an object reused for a second fetch does not carry
      // the first fetch's memory into it.
      if (retry <= 1) previous_ = options_.initial;
      const auto lo = static_cast<long double>(options_.initial.count());
      const long double hi = std::min(3.0L * static_cast<long double>(previous_.count()),
                                      static_cast<long double>(options_.max.count()));
      previous_ = clamp_to(lo + unit_interval(next_random()) * (hi - lo), options_.initial, options_.max);
      return previous_;
    }
  }
  return base;
}

}  // namespace fetchpipe
