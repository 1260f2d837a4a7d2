// Private to the framework: N event counters (two by default) over a rolling window, in kSlots
// time slots.
//
// Time is cut into slots of width w = max(1ns, window / kSlots), slot k covering
// [k*w, (k+1)*w) of the clock's epoch. An event counts while its slot is one of the kSlots most
// recent, the current one included: so an event older than kSlots*w <= window never counts, and
// one younger than (kSlots-1)*w always does. An event for a slot already pushed out of the ring
// (a caller's time point from far in the past) is dropped. Not thread-safe: the caller locks.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "fetchpipe/scheduler.hpp"

namespace fetchpipe::detail {

// floor(t / width) for any sign of t (steady_clock and virtual clocks may start anywhere).
[[nodiscard]] inline std::int64_t slot_of(TimePoint t, std::chrono::nanoseconds width) noexcept {
  const auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const auto w = width.count();
  return n >= 0 ? n / w : -((-(n + 1)) / w) - 1;
}

// slot_of() for one width, remembering its last answer: a time point in the same slot as the
// previous call (nearly every call, with slots of a second or so) costs two multiplications
// instead of a 64-bit division, which is most of what a budget's per-fetch bookkeeping spent.
// Thread-safe: the last slot is one atomic, and a stale one only means dividing again.
class SlotCache {
 public:
  explicit SlotCache(std::chrono::nanoseconds width) noexcept : width_(std::max<std::int64_t>(1, width.count())) {}

  [[nodiscard]] std::int64_t slot_of(TimePoint t) noexcept {
    const auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    const std::int64_t last = last_.load(std::memory_order_relaxed);
    // |last * width_| is at most |a time point already seen|: it cannot overflow.
    if (last != kNone && n >= last * width_ && n - last * width_ < width_) return last;
    const std::int64_t slot = detail::slot_of(t, std::chrono::nanoseconds{width_});
    last_.store(slot, std::memory_order_relaxed);
    return slot;
  }

 private:
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  const std::int64_t width_;
  std::atomic<std::int64_t> last_{kNone};
};

template <std::size_t N>
class BasicRollingCounts {
 public:
  using Counts = std::array<std::uint64_t, N>;

  static constexpr int kSlots = 10;

  [[nodiscard]] static std::chrono::nanoseconds slot_width(std::chrono::nanoseconds window) noexcept {
    return std::max(std::chrono::nanoseconds{1}, window / kSlots);
  }

  // Adds to counter `which` (0 .. N-1) in slot `slot`.
  void add(std::int64_t slot, int which, std::uint32_t amount = 1) noexcept {
    Slot& s = ring_[index_of(slot)];
    if (s.slot > slot) return;  // older than the ring holds: it no longer counts anyway
    if (s.slot < slot) s = Slot{slot, {}};
    auto& c = s.counts[static_cast<std::size_t>(which)];
    c = (c > std::numeric_limits<std::uint32_t>::max() - amount) ? std::numeric_limits<std::uint32_t>::max() : c + amount;
  }

  // Every counter summed over the kSlots slots ending at `now_slot` (and any later slot a
  // concurrent caller with a later time point already filled).
  [[nodiscard]] Counts sum(std::int64_t now_slot) const noexcept {
    Counts total{};
    for (const Slot& s : ring_) {
      if (s.slot > now_slot - kSlots) {
        for (std::size_t i = 0; i < N; ++i) total[i] += s.counts[i];
      }
    }
    return total;
  }

  // Every counter of slot `slot` alone (zero when the ring no longer, or not yet, holds it).
  [[nodiscard]] Counts at(std::int64_t slot) const noexcept {
    Counts out{};
    const Slot& s = ring_[index_of(slot)];
    if (s.slot != slot) return out;
    for (std::size_t i = 0; i < N; ++i) out[i] = s.counts[i];
    return out;
  }

  void clear() noexcept { ring_ = {}; }

 private:
  struct Slot {
    std::int64_t slot = std::numeric_limits<std::int64_t>::min();
    std::array<std::uint32_t, N> counts{};
  };
  static std::size_t index_of(std::int64_t slot) noexcept {
    const auto m = slot % kSlots;
    return static_cast<std::size_t>(m < 0 ? m + kSlots : m);
  }
  std::array<Slot, kSlots> ring_{};
};

using RollingCounts = BasicRollingCounts<2>;

}  // namespace fetchpipe::detail
