// fetchpipe/circuit_breaker.hpp — fail fast for an origin that keeps failing, then let one probe
// find out whether it has recovered.
//
// Before each attempt the pipeline asks admit(origin, now):
//   allowed   send the attempt;
//   probe     send it: it is the one attempt that decides whether the circuit closes again;
//   rejected  send nothing: the attempt fails at once with kind `circuit_open`. `retry_at` says
//             when asking again may succeed, so a retry policy may wait that long if the deadline
//             allows it (else the fetch ends with reason `circuit_open`).
// After an admitted attempt it calls report(origin, now, outcome, was_probe) exactly once.
// Whether an attempt failed is the caller's call (the pipeline uses the retry policy's notion of a
// retryable outcome); an attempt that ended without a verdict (cancelled) is reported `abandoned`,
// which frees the probe slot without counting for or against the origin.
// The origin is the key Url::origin() gives; time is passed in (the Scheduler's now()), so tests
// run in virtual time. Implementations must be thread-safe.
// fetchpipe/consecutive_failure_breaker.hpp is the implementation the CLI's --circuit-breaker uses.
//
// Example:
//   fetchpipe::CircuitBreaker& breaker = *std::make_shared<fetchpipe::ConsecutiveFailureBreaker>();
//   const auto now = fetchpipe::Clock::now();
//   const fetchpipe::Admission a = breaker.admit("http://127.0.0.1:8080", now);
//   if (a.verdict == fetchpipe::Admission::Verdict::rejected) {
//     std::cerr << "open until +" << (a.retry_at - now).count() << "ns\n";
//   } else {
//     breaker.report("http://127.0.0.1:8080", now, fetchpipe::AttemptOutcome::success,
//                    a.verdict == fetchpipe::Admission::Verdict::probe);
//   }
#pragma once

#include <optional>
#include <string_view>

#include "fetchpipe/scheduler.hpp"

namespace fetchpipe {

enum class CircuitState { closed, open, half_open };
[[nodiscard]] std::string_view to_string(CircuitState state) noexcept;

// A change of an origin's state, returned to the caller that caused it so that it can tell its
// own listeners (the Client turns it into an EventListener::on_breaker_state_changed).
struct CircuitTransition {
  CircuitState from = CircuitState::closed;
  CircuitState to = CircuitState::closed;
};

struct Admission {
  enum class Verdict { allowed, probe, rejected };
  Verdict verdict = Verdict::allowed;
  // With `rejected`: the earliest time asking again may be admitted (the end of the open period;
  // while another attempt is the probe, an estimate — see the implementation). Unused otherwise.
  TimePoint retry_at{};
  // Set when this admission changed the origin's state (open -> half_open for a probe).
  std::optional<CircuitTransition> transition{};
};

// How an admitted attempt ended, as far as the breaker is concerned.
enum class AttemptOutcome {
  success,    // the origin answered in a way the caller does not retry
  failure,    // an outcome the caller's retry policy counts as retryable
  abandoned,  // no verdict (cancelled): frees the probe, counts neither way
};

class CircuitBreaker {
 public:
  virtual ~CircuitBreaker() = default;

  [[nodiscard]] virtual Admission admit(std::string_view origin, TimePoint now) = 0;
  // Exactly once per admitted attempt; `was_probe` when admit() returned Verdict::probe.
  // Returns the state change this report caused, if any.
  virtual std::optional<CircuitTransition> report(std::string_view origin, TimePoint now,
                                                  AttemptOutcome outcome, bool was_probe) = 0;
};

}  // namespace fetchpipe
