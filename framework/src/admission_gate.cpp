#include "admission_gate.hpp"

#include <algorithm>
#include <cmath>

namespace fetchpipe::detail {
namespace {

// Idle origins are kept (no allocation for the next fetch to them) up to this many; past it an
// origin is forgotten as soon as it is idle, so a batch over millions of hosts stays bounded.
constexpr std::size_t kIdleOriginsKept = 4096;

std::chrono::nanoseconds interval_of(const AdmissionLimits& limits) {
  if (!limits.rate_per_second) return std::chrono::nanoseconds{0};
  const double ns = 1e9 / *limits.rate_per_second;
  return std::chrono::nanoseconds{std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(ns)))};
}

}  // namespace

AdmissionGate::AdmissionGate(const AdmissionLimits& limits)
    : max_per_origin_(limits.max_per_origin.value_or(0)),
      token_interval_(interval_of(limits)),
      burst_span_(token_interval_ * (std::max(limits.rate_burst, 1) - 1)) {}

bool AdmissionGate::acquire(std::string_view origin, const std::shared_ptr<AdmissionWaiter>& waiter) {
  std::lock_guard lock(mutex_);
  auto it = origins_.find(origin);
  if (it == origins_.end()) it = origins_.emplace(std::string(origin), OriginSlots{}).first;
  OriginSlots& slots = it->second;
  if (slots.in_use < max_per_origin_ && slots.waiting.empty()) {
    ++slots.in_use;
    return true;
  }
  slots.waiting.push_back(waiter);
  return false;
}

void AdmissionGate::release(std::string_view origin) {
  std::shared_ptr<AdmissionWaiter> next;
  {
    std::lock_guard lock(mutex_);
    const auto it = origins_.find(origin);
    if (it == origins_.end()) return;
    OriginSlots& slots = it->second;
    if (!slots.waiting.empty()) {
      next = std::move(slots.waiting.front());  // the slot passes on: in_use stays
      slots.waiting.pop_front();
    } else if (--slots.in_use == 0 && origins_.size() > kIdleOriginsKept) {
      origins_.erase(it);
    }
  }
  if (next) next->admitted();
}

bool AdmissionGate::withdraw(std::string_view origin, const AdmissionWaiter* waiter) {
  std::shared_ptr<AdmissionWaiter> removed;  // dropped after the lock
  std::lock_guard lock(mutex_);
  const auto it = origins_.find(origin);
  if (it == origins_.end()) return false;
  auto& waiting = it->second.waiting;
  const auto found = std::find_if(waiting.begin(), waiting.end(), [&](const auto& w) { return w.get() == waiter; });
  if (found == waiting.end()) return false;
  removed = std::move(*found);
  waiting.erase(found);
  return true;
}

// The generic cell rate algorithm, with reservations: `next_start_` is the bucket's theoretical
// arrival time; a caller may start `burst_span_` ahead of it (the banked tokens), never before now.
std::optional<TimePoint> AdmissionGate::reserve_start(TimePoint now, std::optional<TimePoint> deadline) {
  std::lock_guard lock(mutex_);
  const TimePoint arrival = next_start_ ? std::max(*next_start_, now) : now;
  const TimePoint start = std::max(now, arrival - burst_span_);
  if (deadline && start >= *deadline) return std::nullopt;
  next_start_ = arrival + token_interval_;
  return start;
}

}  // namespace fetchpipe::detail
