#include "fetchpipe/token_retry_budget.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "duration_text.hpp"
#include "origin_table.hpp"
#include "rolling_counts.hpp"

namespace fetchpipe {
namespace {

using std::chrono::nanoseconds;

constexpr int kRequests = 0;  // counter 0: first attempts recorded
constexpr int kRetries = 1;   // counter 1: retries allowed, by the floor or the ratio
constexpr int kAsks = 2;      // counter 2: retries asked for, allowed or not (failed attempts)

using Counts = detail::BasicRollingCounts<3>;

struct OriginBudget {
  Counts counts;
  std::int64_t floor_second = std::numeric_limits<std::int64_t>::min();
  std::int64_t floor_used = 0;  // retries drawn on the floor in floor_second
};

// The window's counts, as try_spend() reads them.
struct WindowCounts {
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t asks = 0;
};

// The verdict while the failure throttle holds: the window's asks (A) outnumber its allowance
// (L = max(ratio * requests, the floor over the window)), so every part of the allowance — the
// floor per second, the ratio over the window, the pace per slot — is scaled by g = L / A.
// Compared as products, never divided: x < part * L / A  <=>  x * A < part * L. Long double keeps
// the products exact for any realistic count (below 2^64) and merely close beyond.
bool throttled_spend(OriginBudget& b, std::int64_t slot, const WindowCounts& w, std::uint64_t slot_retries,
                     std::uint64_t pace_base, std::int64_t allowance_milli, std::int64_t ratio_milli,
                     int min_per_second) {
  using Wide = long double;
  const Wide asks_milli = static_cast<Wide>(w.asks) * 1000;
  const Wide allowance = static_cast<Wide>(allowance_milli);
  if (static_cast<Wide>(b.floor_used) * asks_milli < static_cast<Wide>(min_per_second) * allowance) {
    ++b.floor_used;
    b.counts.add(slot, kRetries);
    return true;
  }
  const Wide ratio_allowance_milli = static_cast<Wide>(ratio_milli) * static_cast<Wide>(w.requests);
  if (static_cast<Wide>(w.retries + 1) * 1000 * asks_milli > ratio_allowance_milli * allowance) return false;
  const Wide pace_milli = static_cast<Wide>(ratio_milli) * static_cast<Wide>(pace_base);
  if (static_cast<Wide>(slot_retries) * 1000 * asks_milli >= pace_milli * allowance) return false;
  b.counts.add(slot, kRetries);
  return true;
}

void validate(const TokenRetryBudget::Options& o) {
  if (!(o.ratio >= 0.0 && o.ratio <= 1000.0)) {  // also refuses NaN
    throw std::invalid_argument(fmt::format("TokenRetryBudget: ratio must be in [0, 1000], got {}", o.ratio));
  }
  if (o.window <= nanoseconds::zero()) {
    throw std::invalid_argument(
        fmt::format("TokenRetryBudget: window must be > 0, got {}", detail::duration_text(o.window)));
  }
  if (o.min_per_second < 0) {
    throw std::invalid_argument(
        fmt::format("TokenRetryBudget: min_per_second must be >= 0, got {}", o.min_per_second));
  }
  if (o.max_origins < 1) {
    throw std::invalid_argument(fmt::format("TokenRetryBudget: max_origins must be >= 1, got {}", o.max_origins));
  }
}

}  // namespace

struct TokenRetryBudget::Impl {
  Impl(std::size_t max_origins, nanoseconds window)
      : table(max_origins), window_slots(Counts::slot_width(window)), seconds(std::chrono::seconds{1}) {}
  detail::OriginTable<OriginBudget> table;
  detail::SlotCache window_slots;  // the window's slots
  detail::SlotCache seconds;       // whole seconds, for the floor
};

TokenRetryBudget::TokenRetryBudget() : TokenRetryBudget(Options{}) {}

TokenRetryBudget::TokenRetryBudget(Options options) : options_(options) {
  validate(options_);
  ratio_milli_ = std::llround(options_.ratio * 1000.0);
  // The floor over the window, in thousandths of a retry: min_per_second * window in seconds.
  // Capped far below overflow: past 2^60 thousandths no count could reach it anyway.
  const long double floor_milli = static_cast<long double>(options_.min_per_second) *
                                  static_cast<long double>(options_.window.count()) / 1e6L;
  floor_window_milli_ = static_cast<std::int64_t>(std::min(floor_milli, static_cast<long double>(std::int64_t{1} << 60)));
  impl_ = std::make_unique<Impl>(options_.max_origins, options_.window);
}

TokenRetryBudget::~TokenRetryBudget() = default;

void TokenRetryBudget::record_request(std::string_view origin, TimePoint now) {
  const std::int64_t slot = impl_->window_slots.slot_of(now);
  impl_->table.with(origin, [&](OriginBudget& b) { b.counts.add(slot, kRequests); });
}

bool TokenRetryBudget::try_spend(std::string_view origin, TimePoint now) {
  const std::int64_t slot = impl_->window_slots.slot_of(now);
  const std::int64_t second = impl_->seconds.slot_of(now);
  return impl_->table.with(origin, [&](OriginBudget& b) {
    if (second > b.floor_second) {
      b.floor_second = second;
      b.floor_used = 0;
    }
    // Every ask is a failed attempt, paid or not: it counts before the verdict.
    b.counts.add(slot, kAsks);
    const auto [requests, retries, asks] = b.counts.sum(slot);
    const auto [slot_requests, slot_retries, slot_asks] = b.counts.at(slot);
    constexpr std::uint64_t kSlots = Counts::kSlots;
    const std::uint64_t pace_base = std::max<std::uint64_t>(slot_requests, (requests + kSlots - 1) / kSlots);
    const std::int64_t ratio_allowance_milli = ratio_milli_ * static_cast<std::int64_t>(requests);
    const std::int64_t allowance_milli = std::max(ratio_allowance_milli, floor_window_milli_);
    if (options_.failure_throttle && static_cast<std::int64_t>(asks) * 1000 > allowance_milli) {
      return throttled_spend(b, slot, {requests, retries, asks}, slot_retries, pace_base, allowance_milli, ratio_milli_,
                             options_.min_per_second);
    }
    // Every retry counts in the window, the floor's too: so under real traffic the floor is part
    // of the ratio's allowance, not extra load on top of it, and only light traffic (where the
    // ratio allows less than the floor) gets more than the ratio.
    if (b.floor_used < options_.min_per_second) {
      ++b.floor_used;
      b.counts.add(slot, kRetries);
      return true;
    }
    // (spent + 1) <= ratio * requests, in thousandths: at most 2^32 * 10 slots * 10^6 < 2^63.
    if (static_cast<std::int64_t>(retries + 1) * 1000 > ratio_allowance_milli) return false;
    // Paced: one slot may spend `ratio` of the requests of that slot (or of an average slot of
    // the window, if more), so what the window earned is spread over it instead of spent in a
    // burst the moment an outage starts (and again each time that burst leaves the window).
    const std::int64_t pace_milli = ratio_milli_ * static_cast<std::int64_t>(pace_base);
    const std::int64_t slot_cap = (pace_milli + 999) / 1000;  // rounded up
    if (static_cast<std::int64_t>(slot_retries) >= slot_cap) return false;
    b.counts.add(slot, kRetries);
    return true;
  });
}

std::size_t TokenRetryBudget::tracked_origins() const { return impl_->table.size(); }

}  // namespace fetchpipe
