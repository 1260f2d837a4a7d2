// fetchpipe/events.hpp — one client-wide listener that sees what the pipeline does: enough to
// export metrics or traces without patching it.
//
// Set ClientOptions::events. Every method has an empty default, so a listener overrides only what
// it needs. The events of one fetch run on the client's callback executor, in the order they
// happened, never two at a time and all before that fetch's terminal callback — like the
// callbacks themselves, and never under a lock of the pipeline. Events of different fetches may
// run concurrently on a multi-threaded executor: a listener must be thread-safe and quick (a
// counter, a queue). on_breaker_state_changed is the exception: it belongs to an origin, not a
// fetch, and runs on the thread whose fetch caused the transition, at once. A listener may call
// fetch() or cancel(). An exception it throws goes to ClientOptions::on_callback_exception and
// changes nothing else.
// The string_views in an event are valid only for the duration of the call. Time points are the
// client Scheduler's now() (virtual time under a ManualScheduler).
//
// Example:
//   struct CountRetries : fetchpipe::EventListener {
//     std::atomic<int> retries{0};
//     void on_retry_scheduled(const fetchpipe::RetryScheduled&) override { ++retries; }
//   };
//   fetchpipe::ClientOptions options;
//   auto counter = std::make_shared<CountRetries>();
//   options.events = counter;
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fetchpipe/circuit_breaker.hpp"
#include "fetchpipe/error.hpp"
#include "fetchpipe/scheduler.hpp"

namespace fetchpipe {

// Numbers the fetches of one client, from 1, in the order fetch() was called.
using FetchId = std::uint64_t;

struct FetchStarted {
  FetchId fetch = 0;
  std::string_view method;
  std::string_view url;
  std::string_view origin;  // Url::origin(); empty for a URL that does not parse
  TimePoint at{};
};

// A fetch waits for admission (ClientOptions::admission): the origin is at its concurrency limit
// or the rate limit has no token. on_fetch_admitted follows when it may go on.
struct FetchQueued {
  FetchId fetch = 0;
  std::string_view origin;
  TimePoint at{};
};
struct FetchAdmitted {
  FetchId fetch = 0;
  std::string_view origin;
  std::chrono::nanoseconds waited{0};
  TimePoint at{};
};

struct AttemptStarted {
  FetchId fetch = 0;
  int attempt = 0;  // 1 for the first
  std::string_view url;
  std::string_view origin;
  TimePoint at{};
  bool hedge = false;  // started as a hedge while an earlier attempt still ran
};

// A hedge went out: attempt `attempt` of the fetch, `after` the previous attempt of the race started
// without a response head (or at once, when a racing attempt failed in a way worth retrying).
struct HedgeStarted {
  FetchId fetch = 0;
  int attempt = 0;
  std::string_view origin;
  std::chrono::nanoseconds after{0};
  TimePoint at{};
};

struct AttemptEnded {
  FetchId fetch = 0;
  int attempt = 0;
  std::string_view origin;
  std::optional<int> status;       // the attempt's final HTTP status, if a response arrived
  std::optional<ErrorKind> error;  // its error, if it had one (circuit_open: nothing was sent)
  std::chrono::nanoseconds duration{0};
  TimePoint at{};
};

struct RetryScheduled {
  FetchId fetch = 0;
  int next_attempt = 0;
  std::string_view origin;
  std::chrono::nanoseconds delay{0};
  std::optional<int> status;       // why: the failed attempt's status ...
  std::optional<ErrorKind> error;  // ... or its error
  TimePoint at{};
};

// The retry budget refused a retry: the fetch ends with its last outcome, reason budget_exhausted.
struct BudgetRefused {
  FetchId fetch = 0;
  std::string_view origin;
  TimePoint at{};
};

// Reported by the client whose fetch caused the transition (a breaker shared between clients
// reports each transition to one of them).
struct BreakerStateChanged {
  std::string_view origin;
  CircuitState from = CircuitState::closed;
  CircuitState to = CircuitState::closed;
  TimePoint at{};
};

enum class FetchOutcome { success, failure, cancelled };
[[nodiscard]] std::string_view to_string(FetchOutcome outcome) noexcept;

struct FetchEnded {
  FetchId fetch = 0;
  std::string_view origin;
  FetchOutcome outcome = FetchOutcome::success;
  GiveUpReason reason = GiveUpReason::none;
  std::optional<ErrorKind> error;  // with failure and cancelled
  std::optional<int> status;       // the last HTTP status seen, if any
  int attempts = 0;
  std::chrono::nanoseconds elapsed{0};
  TimePoint at{};
};

class EventListener {
 public:
  virtual ~EventListener() = default;

  virtual void on_fetch_started(const FetchStarted&) {}
  virtual void on_fetch_queued(const FetchQueued&) {}
  virtual void on_fetch_admitted(const FetchAdmitted&) {}
  virtual void on_attempt_started(const AttemptStarted&) {}
  virtual void on_attempt_ended(const AttemptEnded&) {}
  virtual void on_retry_scheduled(const RetryScheduled&) {}
  virtual void on_hedge_started(const HedgeStarted&) {}
  virtual void on_budget_refused(const BudgetRefused&) {}
  virtual void on_breaker_state_changed(const BreakerStateChanged&) {}
  virtual void on_fetch_ended(const FetchEnded&) {}
};

}  // namespace fetchpipe
