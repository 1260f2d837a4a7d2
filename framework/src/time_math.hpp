// Saturating time arithmetic for the pipeline. Private to the framework.
//
// Users say "no limit" with the largest duration there is (`nanoseconds::max()`, a huge backoff
// cap); `now + that` overflows, which is undefined behaviour and in practice a deadline in the past.
// Every wait and deadline the pipeline computes goes through these instead: a duration is clamped
// to a century, far beyond any fetch and small enough that a steady time point plus it, and its
// conversion to the system clock, stay in range.
#pragma once

#include <algorithm>
#include <chrono>

#include "fetchpipe/scheduler.hpp"

namespace fetchpipe::detail {

inline constexpr std::chrono::nanoseconds kForever = std::chrono::hours{24 * 365 * 100};

// `d` clamped to [0, kForever].
[[nodiscard]] constexpr std::chrono::nanoseconds bounded(std::chrono::nanoseconds d) noexcept {
  return std::clamp(d, std::chrono::nanoseconds::zero(), kForever);
}

// `t + d`, with `d` bounded first.
[[nodiscard]] constexpr TimePoint later(TimePoint t, std::chrono::nanoseconds d) noexcept { return t + bounded(d); }

}  // namespace fetchpipe::detail
