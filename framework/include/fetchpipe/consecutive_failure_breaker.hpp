// fetchpipe/consecutive_failure_breaker.hpp — a per-origin circuit breaker that opens
// after consecutive failures or a failure ratio, and closes again after one successful probe
// (Finagle's FailureAccrual, Polly's and resilience4j's breakers).
//
// Parameters (defaults):
//   consecutive_failures  5      open after this many failures in a row; 0 turns the rule off
//   failure_ratio         0      open when failures / calls >= this over `window` ...; in [0, 1],
//                                0 turns the rule off
//   minimum_calls         20     ... once the window holds at least this many calls; >= 1
//   window                10 s   the ratio rule's rolling window (10 slots of window/10); > 0
//   open_for              5 s    how long the circuit stays open; > 0
//   max_origins           4096   origins tracked at once; >= 1
//   on_state_change       none   called with (origin, from, to) on every transition
// At least one of the two rules must be on.
// The state machine, per origin (reports of attempts admitted while closed are counted only
// while the circuit is still closed; others are ignored):
//   closed     admit: allowed. report failure: consecutive count + 1, and a failed call in the
//              window; report success: consecutive count = 0, a call in the window. When either
//              rule fires -> open, until now + open_for.
//   open       admit before open_until: rejected, retry_at = open_until. The first admit at or
//              after it -> half_open, and that caller gets the probe.
//   half_open  one probe is out: every other admit is rejected with retry_at = now + open_for
//              (when the probe fails, that is the soonest the circuit can be asked again at
//              best). Probe success -> closed (all counts reset); probe failure -> open again for
//              open_for from the report; probe abandoned -> stays half_open and the next admit
//              gets the probe.
// So at most one probe is in flight per origin at any time, and every admitted probe must be
// reported (abandoned when cancelled) or the origin stays half_open.
// The listener runs after the internal lock is released, on the thread whose call caused the
// transition; it may call back into the breaker. Two transitions of one origin on two threads
// may reach their listeners in either order. An exception from it propagates to the caller of
// admit()/report(); the transition has taken effect by then.
// Memory: like TokenRetryBudget, at most max_origins origins in up to 16 shards; a new origin in
// a full shard replaces that shard's least recently used one (forgotten: it starts closed).
//
// Example:
//   fetchpipe::ConsecutiveFailureBreaker breaker({
//       .consecutive_failures = 3, .open_for = 2s,
//       .on_state_change = [](std::string_view origin, fetchpipe::CircuitState from,
//                             fetchpipe::CircuitState to) {
//         std::cerr << origin << ": " << fetchpipe::to_string(from) << " -> "
//                   << fetchpipe::to_string(to) << '\n';
//       }});
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "fetchpipe/circuit_breaker.hpp"

namespace fetchpipe {

class ConsecutiveFailureBreaker final : public CircuitBreaker {
 public:
  using Listener = std::function<void(std::string_view origin, CircuitState from, CircuitState to)>;

  struct Options {
    int consecutive_failures = 5;
    double failure_ratio = 0.0;
    int minimum_calls = 20;
    std::chrono::nanoseconds window{std::chrono::seconds{10}};
    std::chrono::nanoseconds open_for{std::chrono::seconds{5}};
    std::size_t max_origins = 4096;
    Listener on_state_change{};
  };

  ConsecutiveFailureBreaker();  // the defaults above
  // Throws std::invalid_argument naming the field and value when an option is out of range.
  explicit ConsecutiveFailureBreaker(Options options);
  ~ConsecutiveFailureBreaker() override;
  ConsecutiveFailureBreaker(const ConsecutiveFailureBreaker&) = delete;
  ConsecutiveFailureBreaker& operator=(const ConsecutiveFailureBreaker&) = delete;

  [[nodiscard]] Admission admit(std::string_view origin, TimePoint now) override;
  std::optional<CircuitTransition> report(std::string_view origin, TimePoint now, AttemptOutcome outcome,
                                          bool was_probe) override;

  // The origin's current state (an open circuit whose period has ended still reads open until
  // someone asks for admission). An unknown origin is closed (and tracked from then on). For tests
  // and tools.
  [[nodiscard]] CircuitState state(std::string_view origin);
  [[nodiscard]] const Options& options() const noexcept { return options_; }
  [[nodiscard]] std::size_t tracked_origins() const;

 private:
  struct Impl;
  Options options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetchpipe
