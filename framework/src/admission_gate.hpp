// The client's admission limits (AdmissionLimits): a per-origin concurrency limit with a FIFO
// queue of waiting fetches, and a token-bucket rate limit that hands out start times in order.
// Private to the framework. One per client, shared by all its fetches (and all transport shards).
#pragma once

#include <cstddef>
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

 protected:
  ~AdmissionWaiter() = default;
};

class AdmissionGate {
 public:
  explicit AdmissionGate(const AdmissionLimits& limits);

  [[nodiscard]] bool limits_concurrency() const noexcept { return max_per_origin_ > 0; }
  [[nodiscard]] bool limits_rate() const noexcept { return token_interval_.count() > 0; }

  // Concurrency. True: the caller holds a slot of `origin` now. False: `waiter` is queued behind
  // the origin's other waiters; admitted() comes when a slot is handed to it.
  [[nodiscard]] bool acquire(std::string_view origin, const std::shared_ptr<AdmissionWaiter>& waiter);
  // Gives the caller's slot back, handing it to the origin's first waiter, if any (its admitted()
  // runs here, on this thread, after the lock is released).
  void release(std::string_view origin);
  // Takes a queued waiter out of the queue. False when it was not queued (already admitted).
  bool withdraw(std::string_view origin, const AdmissionWaiter* waiter);

  // Rate. Reserves the next start time at or after `now`: a token now, or the time the bucket
  // will have one for this caller (callers are served in the order they ask). When that time is
  // at or past `deadline`, nothing is reserved and nullopt is returned.
  [[nodiscard]] std::optional<TimePoint> reserve_start(TimePoint now, std::optional<TimePoint> deadline);

 private:
  struct OriginSlots {
    int in_use = 0;
    std::deque<std::shared_ptr<AdmissionWaiter>> waiting;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  const int max_per_origin_;
  const std::chrono::nanoseconds token_interval_;  // 1 / rate; zero = no rate limit
  const std::chrono::nanoseconds burst_span_;      // (burst - 1) intervals: how far ahead tokens bank

  std::mutex mutex_;
  std::unordered_map<std::string, OriginSlots, Hash, std::equal_to<>> origins_;
  std::optional<TimePoint> next_start_;  // the theoretical arrival time of the next token
};

}  // namespace fetchpipe::detail
