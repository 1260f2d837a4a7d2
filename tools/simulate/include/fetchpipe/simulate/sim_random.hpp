// fetchpipe/simulate/sim_random.hpp — the simulator's only source of randomness.
//
// A 64-bit Mersenne Twister mapped to [0, 1) by hand (top 53 bits times 2^-53), and the two
// distributions the simulator needs written out here, because the standard distributions are
// implementation-defined: the same --seed must give the same table with every standard library.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>

namespace fetchpipe::simulate {

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Exponentially distributed with the given mean (inter-arrival gaps of a Poisson process,
  // service times of an M/M/c server).
  std::chrono::nanoseconds exponential(std::chrono::nanoseconds mean) {
    const double draw = -std::log1p(-uniform()) * static_cast<double>(mean.count());
    return std::chrono::nanoseconds{static_cast<std::int64_t>(draw)};
  }

  // "About `typical`": uniform within +-20 % of it.
  std::chrono::nanoseconds about(std::chrono::nanoseconds typical) {
    const double draw = static_cast<double>(typical.count()) * (0.8 + 0.4 * uniform());
    return std::chrono::nanoseconds{static_cast<std::int64_t>(draw)};
  }

 private:
  std::mt19937_64 engine_;
};

// Derives independent seeds for the parts of one run from the user's --seed (splitmix64).
[[nodiscard]] inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace fetchpipe::simulate
