// fetchpipe/client.hpp — the fetch pipeline: a Transport, a RetryPolicy, a BackoffPolicy, an
// Executor and a Scheduler composed into `fetch(request, callbacks)`.
//
// Configure it in code; the configuration is validated once, when the client is built
// (std::invalid_argument naming the field and the value). Swapping the transport is one line.
//
// Example:
//   fetchpipe::ClientOptions options;
//   options.transport = std::make_shared<fetchpipe::CurlTransport>();        // required
//   options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();  // required
//   options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();  // required
//   options.timeouts.overall = 5s;
//   fetchpipe::Client client(options);
//   std::promise<std::string> body;  // the outcome arrives later, on the callback executor
//   fetchpipe::FetchHandle handle = client.fetch(
//       {.url = "https://example.org/"},
//       {.on_success = [&](fetchpipe::Response r) { body.set_value(std::move(r.body)); },
//        .on_failure = [&](fetchpipe::Error e) { body.set_value("failed: " + e.message); },
//        .on_cancel = [&](fetchpipe::Error) { body.set_value("cancelled"); }});
//   // handle.cancel() from any thread would end it with on_cancel; here we wait for the outcome.
//   std::cout << body.get_future().get() << '\n';
//
// Threads: fetch() and FetchHandle::cancel() are safe from any thread, including from inside
// callbacks. Destroying the client cancels every fetch in flight and returns only when each
// terminal callback has run; none runs afterwards. Do not destroy a client from inside one of its
// own callbacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>

#include "fetchpipe/backoff_policy.hpp"
#include "fetchpipe/callbacks.hpp"
#include "fetchpipe/circuit_breaker.hpp"
#include "fetchpipe/events.hpp"
#include "fetchpipe/executor.hpp"
#include "fetchpipe/hedging_policy.hpp"
#include "fetchpipe/request.hpp"
#include "fetchpipe/retry_budget.hpp"
#include "fetchpipe/retry_policy.hpp"
#include "fetchpipe/scheduler.hpp"
#include "fetchpipe/transport.hpp"

namespace fetchpipe {

// The four clocks that bound a fetch. They mean the same on every transport.
struct Timeouts {
  // TCP connect plus TLS handshake, per connection attempt. Must be > 0. Default 10 s.
  std::chrono::nanoseconds connect{std::chrono::seconds{10}};
  // One attempt from start to the last body byte, redirects included. Must be > 0. Default 30 s.
  std::chrono::nanoseconds attempt{std::chrono::seconds{30}};
  // Fail the attempt when no response byte (head or body) arrives for this long at any point after
  // the request was sent (connect time not counted). Must be > 0 if set. Default: none.
  std::optional<std::chrono::nanoseconds> stall{};
  // Overall deadline over every attempt and every wait. Must be > 0 if set. Default: none.
  // The pipeline keeps a timer of its own for it: the fetch ends at the deadline even when the
  // transport does not (a name lookup that blocks, say).
  std::optional<std::chrono::nanoseconds> overall{};
  // Any of these may be as large as std::chrono::nanoseconds::max() to mean "no limit": the
  // pipeline saturates its time arithmetic (a wait or clock beyond a century counts as a century).
};

// Limits on when a fetch may start. A fetch over a limit waits in a FIFO queue (no thread each)
// until it may go; a wait that would cross its overall deadline is refused at once, like a
// backoff (deadline_exceeded, reason deadline); cancelling a queued fetch works like any cancel.
// A fetch holds its origin's slot from admission to its outcome, retries and backoff included.
struct AdmissionLimits {
  // Fetches in flight per origin (scheme, host, port of the request's URL), across the client.
  // A hedging fetch holds one slot for all its attempts, so with hedging an origin may see up to
  // max_in_flight() times this many requests at once. Must be >= 1 if set. Default: no limit.
  std::optional<int> max_per_origin{};
  // Fetches started per second over all origins (a token bucket of `rate_burst` tokens).
  // Must be > 0 and finite if set. Default: no limit.
  std::optional<double> rate_per_second{};
  // Tokens the bucket holds when full (starts full). Must be >= 1. Default 1: evenly spaced.
  int rate_burst = 1;
};

struct ClientOptions {
  std::shared_ptr<Transport> transport;          // required
  std::shared_ptr<RetryPolicy> retry_policy;     // required (a prototype; cloned per fetch)
  std::shared_ptr<BackoffPolicy> backoff_policy; // required (a prototype; cloned per fetch)
  // Where callbacks run. Default: a ThreadPoolExecutor of one thread owned by the client.
  std::shared_ptr<Executor> callback_executor;
  // Timers and the clock. Default: a RealScheduler owned by the client.
  std::shared_ptr<Scheduler> scheduler;
  Timeouts timeouts;
  // Redirects followed per attempt; 0 = a 3xx is the final response. Must be >= 0. Default 10.
  int max_redirects = 10;
  // Largest body accepted, enforced while streaming; a body of exactly this size is fine.
  std::optional<std::uint64_t> max_body_bytes;
  // How much of a rejected response's body Error::response keeps. A body is read up to this many
  // bytes (or 64 KiB, if more) and the connection is dropped past it. Must be <= 64 MiB.
  // Default 64 KiB.
  std::uint64_t error_body_limit = 64 * 1024;
  // Continue a GET whose accepted response was cut (it said Accept-Ranges: bytes and carried a
  // strong ETag or a Last-Modified date) from the byte the sink holds, with Range and If-Range,
  // instead of starting over: a 206 from that byte continues the body (no on_rewind), a 200
  // means the resource changed (on_rewind if set, else the fetch fails with reason committed).
  // A request that sets its own Range header is never resumed. Default true.
  bool resume = true;
  TlsOptions tls;
  // Per-origin limit on the extra load retries add. Default (empty): a TokenRetryBudget of this
  // client's own (20 % of the requests of the last 10 s, plus 10 retries per second). Set one
  // object in several clients to share it; set no_retry_budget() to turn budgets off.
  std::shared_ptr<RetryBudget> retry_budget;
  // Per-origin circuit breaker. Default: none. ConsecutiveFailureBreaker is the usual choice.
  std::shared_ptr<CircuitBreaker> circuit_breaker;
  AdmissionLimits admission;
  // Hedged requests (hedging_policy.hpp): an idempotent fetch whose attempt is late starts another
  // one; the first accepted response wins and the others are cancelled. Its max_in_flight() must
  // be 2..5. Default: none (off). FixedHedging and AdaptiveHedging are in policies/.
  std::shared_ptr<HedgingPolicy> hedging;
  // Sees fetches, attempts, retries, budget refusals and breaker transitions. Default: none.
  std::shared_ptr<EventListener> events;
  // Receives any exception a callback throws (and failures to post to the executor). Runs on the
  // thread where it was caught. Default: ignore.
  std::function<void(std::exception_ptr)> on_callback_exception;
};

namespace detail {
class FetchOperation;
struct ClientCore;
}  // namespace detail

// Refers to one fetch. Cheap to copy; may outlive the client.
class FetchHandle {
 public:
  FetchHandle() = default;
  // Cancels the fetch: aborts the attempt in flight or the pending backoff wait, and on_cancel
  // runs. Returns false, doing nothing, when the fetch's outcome was already decided.
  bool cancel() const;
  // True once the outcome is decided (the terminal callback may still be on its way).
  [[nodiscard]] bool done() const;
  [[nodiscard]] bool valid() const noexcept { return op_ != nullptr; }

 private:
  friend class Client;
  explicit FetchHandle(std::shared_ptr<detail::FetchOperation> op) : op_(std::move(op)) {}
  std::shared_ptr<detail::FetchOperation> op_;
};

// Counts since the client was built; they reconcile: started = succeeded + failed + cancelled +
// in_flight.
struct ClientStats {
  std::uint64_t started = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t attempts = 0;          // attempts sent (a circuit_open rejection is not one)
  std::uint64_t retries = 0;           // attempts after the first that are not hedges
  std::uint64_t hedges = 0;            // attempts started as hedges
  std::uint64_t budget_refusals = 0;   // retries and hedges the retry budget refused
  std::uint64_t breaker_rejections = 0;  // attempts the circuit breaker refused (nothing sent)
  std::uint64_t queued = 0;            // fetches that waited for admission
};

class Client {
 public:
  // Every default: see fetchpipe/defaults.hpp (defined in fetchpipe::defaults, not the framework).
  Client();
  explicit Client(ClientOptions options);  // throws std::invalid_argument on bad configuration
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  FetchHandle fetch(Request request, Callbacks callbacks);
  // As above; a stop request on `stop` cancels the fetch like FetchHandle::cancel().
  FetchHandle fetch(Request request, Callbacks callbacks, std::stop_token stop);

  [[nodiscard]] ClientStats stats() const;
  [[nodiscard]] const ClientOptions& options() const noexcept;

 private:
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace fetchpipe
