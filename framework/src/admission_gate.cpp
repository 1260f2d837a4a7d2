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

AdmissionGate::OriginSlots* AdmissionGate::find_locked(std::string_view origin) {
  if (last_ != nullptr && last_name_ == origin) return last_;
  const auto it = origins_.find(origin);
  if (it == origins_.end()) return nullptr;
  remember_locked(it);
  return last_;
}

void AdmissionGate::remember_locked(Origins::iterator it) {
  last_name_ = it->first;
  last_ = &it->second;
}

bool AdmissionGate::acquire(std::string_view origin, AdmissionWaiter& waiter, OriginSlots*& entry) {
  std::lock_guard lock(mutex_);
  OriginSlots* found = find_locked(origin);
  if (found == nullptr) {
    const auto it = origins_.emplace(std::string(origin), OriginSlots{}).first;
    it->second.self = it;
    remember_locked(it);
    found = last_;
  }
  entry = found;
  OriginSlots& slots = *found;
  if (slots.in_use < max_per_origin_ && slots.waiting.empty()) {
    ++slots.in_use;
    return true;
  }
  slots.waiting.push_back(waiter.waiting_reference());
  return false;
}

void AdmissionGate::release(OriginSlots* entry) {
  std::shared_ptr<AdmissionWaiter> next;
  {
    std::lock_guard lock(mutex_);
    OriginSlots& slots = *entry;
    if (!slots.waiting.empty()) {
      next = std::move(slots.waiting.front());  // the slot passes on: in_use stays
      slots.waiting.pop_front();
    } else if (--slots.in_use == 0 && origins_.size() > kIdleOriginsKept) {
      if (last_ == entry) last_ = nullptr;
      origins_.erase(slots.self);  // the entry goes
    }
  }
  if (next) next->admitted();
}

bool AdmissionGate::withdraw(OriginSlots* entry, const AdmissionWaiter* waiter) {
  std::shared_ptr<AdmissionWaiter> removed;  // dropped after the lock
  std::lock_guard lock(mutex_);
  auto& waiting = entry->waiting;
  const auto found = std::find_if(waiting.begin(), waiting.end(), [&](const auto& w) { return w.get() == waiter; });
  if (found == waiting.end()) return false;
  removed = std::move(*found);
  waiting.erase(found);
  return true;
}

// The generic cell rate algorithm, with reservations: `next_start_` is the bucket's theoretical
// arrival time; a caller may start `burst_span_` ahead of it (the banked tokens), never before now.
// One compare-and-swap instead of a lock: callers racing for it are served in the order their
// swaps land, and a caller whose swap failed recomputes from the value that beat it.
std::optional<TimePoint> AdmissionGate::reserve_start(TimePoint now, std::optional<TimePoint> deadline) {
  std::int64_t seen = next_start_.load(std::memory_order_relaxed);
  for (;;) {
    const TimePoint arrival = seen == kNoStart ? now : std::max(TimePoint{TimePoint::duration{seen}}, now);
    const TimePoint start = std::max(now, arrival - burst_span_);
    if (deadline && start >= *deadline) return std::nullopt;
    const std::int64_t next = (arrival + token_interval_).time_since_epoch().count();
    if (next_start_.compare_exchange_weak(seen, next, std::memory_order_relaxed)) return start;
  }
}

}  // namespace fetchpipe::detail
