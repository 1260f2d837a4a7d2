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
#include "fetchpipe/executor.hpp"
#include "fetchpipe/request.hpp"
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
  TlsOptions tls;
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
  std::uint64_t attempts = 0;
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
