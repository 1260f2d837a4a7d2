// The client's admission limits (AdmissionLimits): a per-origin concurrency limit with a FIFO
// queue of waiting fetches, and a token-bucket rate limit that hands out start times in order.
// Private to the framework. One per client, shared by all its fetches (and all transport shards).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fetchpipe/client.hpp"

namespace fetchpipe::detail {

// A fetch waiting for a slot of its origin. The gate calls admitted() outside its lock once the
// slot is the waiter's; from then on the waiter holds it and must release() it.
class AdmissionWaiter {
 public:
  virtual void admitted() = 0;
  // What the queue holds while the waiter waits: keeps it alive until admitted() or withdraw().
  [[nodiscard]] virtual std::shared_ptr<AdmissionWaiter> waiting_reference() = 0;

 protected:
  ~AdmissionWaiter() = default;
};

class AdmissionGate {
 public:
  explicit AdmissionGate(const AdmissionLimits& limits);

  [[nodiscard]] bool limits_concurrency() const noexcept { return max_per_origin_ > 0; }
  [[nodiscard]] bool limits_rate() const noexcept { return token_interval_.count() > 0; }

  // Concurrency. True: the caller holds a slot of `origin` now. False: `waiter` is queued behind
  // the origin's other waiters; admitted() comes when a slot is handed to it. (Only a waiter that
  // queues is asked for its waiting_reference(): the fast path touches no reference count.)
  // `entry` is set to the origin's entry either way: release() and withdraw() take it back instead
  // of looking the origin up again. It stays valid until the slot is released or the waiter
  // withdrawn, since an entry with a slot in use or a waiter is never erased.
  struct OriginSlots;
  [[nodiscard]] bool acquire(std::string_view origin, AdmissionWaiter& waiter, OriginSlots*& entry);
  // Gives the caller's slot back, handing it to the origin's first waiter, if any (its admitted()
  // runs here, on this thread, after the lock is released).
  void release(OriginSlots* entry);
  // Takes a queued waiter out of the queue. False when it was not queued (already admitted).
  bool withdraw(OriginSlots* entry, const AdmissionWaiter* waiter);

  // Rate. Reserves the next start time at or after `now`: a token now, or the time the bucket
  // will have one for this caller (callers are served in the order they ask). When that time is
  // at or past `deadline`, nothing is reserved and nullopt is returned.
  [[nodiscard]] std::optional<TimePoint> reserve_start(TimePoint now, std::optional<TimePoint> deadline);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  using Origins = std::unordered_map<std::string, OriginSlots, Hash, std::equal_to<>>;

 public:
  struct OriginSlots {
    int in_use = 0;
    std::deque<std::shared_ptr<AdmissionWaiter>> waiting;
    Origins::iterator self;  // for erasing the entry without a search
  };

 private:

  // The origin's entry, or null. Under mutex_. A fetch's acquire() and release() name the same
  // origin, and most clients talk to few: the last entry found is checked first (a compare of the
  // name instead of a hash and a bucket search). Nodes of the map never move, so the pointer holds
  // until that entry is erased.
  OriginSlots* find_locked(std::string_view origin);
  void remember_locked(Origins::iterator it);

  const int max_per_origin_;
  const std::chrono::nanoseconds token_interval_;  // 1 / rate; zero = no rate limit
  const std::chrono::nanoseconds burst_span_;      // (burst - 1) intervals: how far ahead tokens bank

  std::mutex mutex_;
  Origins origins_;
  std::string_view last_name_;      // the key of last_, inside its map node
  OriginSlots* last_ = nullptr;
  // The theoretical arrival time of the next token, in nanoseconds of the clock's epoch;
  // kNoStart before the first reservation. Atomic: reserving a start takes no lock.
  static constexpr std::int64_t kNoStart = INT64_MIN;
  std::atomic<std::int64_t> next_start_{kNoStart};
};

}  // namespace fetchpipe::detail
