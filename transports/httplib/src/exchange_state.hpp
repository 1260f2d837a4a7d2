// The state one httplib exchange shares between its worker, the watchdog and cancel(), and the
// queue they all meet at. Every field marked "guarded" is read and written under Core::mutex only;
// that single lock decides every race (cancel vs deadline vs completion).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::detail {

// Why an exchange was asked to stop. The first reason recorded wins; it is what the exchange
// reports, whatever cpp-httplib says about the interrupted call.
enum class StopReason {
  none,
  cancelled,       // Exchange::cancel()
  shutdown,        // the transport is being destroyed
  consumer,        // on_body returned false
  deadline,        // ExchangeSpec::deadline passed
  connect_timeout, // connecting (resolve, TCP, TLS handshake) took longer than the connect timeout
  stall,           // no response byte for the stall timeout once the request was sent
  body_limit,      // Content-Length or the bytes received exceed max_body_bytes
  observer_threw,  // on_head or on_body threw; the exception is swallowed here
  head_too_large,  // the response head exceeded kMaxResponseHeadBytes
  unfaithful_head, // the raw response head could not be delivered as sent (see raw_head.hpp)
  bad_encoding,    // a Content-Encoding cpp-httplib does not decode, while decoding was asked for
  unreadable_interim,  // a "100 Continue" head with header fields (see raw_head.hpp)
};

// The most response-head bytes accepted; beyond it the exchange ends as connection_reset. Same
// bound as the curl transport. Counted on the bytes cpp-httplib reads, as they arrive (see
// read_tap.hpp), so cpp-httplib never holds more than this plus one read of head.
inline constexpr std::size_t kMaxResponseHeadBytes = 256 * 1024;

enum class Phase { queued, running, done };

class HttplibExchange;

struct Core {
  std::mutex mutex;
  std::condition_variable work_ready;      // workers: queue non-empty or stopping
  std::condition_variable watchdog_wake;   // watchdog: something is due earlier than it thought
  std::deque<std::shared_ptr<HttplibExchange>> queue;     // guarded
  std::vector<std::shared_ptr<HttplibExchange>> running;  // guarded; one slot per worker
  TimePoint watchdog_next = TimePoint::max();              // guarded; when the watchdog wakes
  bool stopping = false;                                   // guarded; no new exchanges, drain
  bool watchdog_exit = false;                              // guarded; after the workers joined

  // Wakes the watchdog if `due` is earlier than its planned wake-up. Call with the lock held.
  void wake_watchdog_before(TimePoint due);
};

class HttplibExchange final : public Exchange {
 public:
  HttplibExchange(std::shared_ptr<Core> core, const ExchangeSpec& spec,
                  std::shared_ptr<ExchangeObserver> observer);

  void cancel() override;

  // Records `reason` unless one is already recorded or the exchange is done, and shuts the socket
  // down so a blocked call returns at once. Returns true when this call recorded it. Lock held.
  bool request_stop_locked(StopReason reason, std::string detail = {});

  // The earliest time the watchdog must look at this running exchange. Lock held.
  [[nodiscard]] TimePoint next_due_locked() const;

  // Calls on_complete (swallowing exceptions) and drops the observer. Called once, by the thread
  // that moved the exchange to Phase::done, without the lock.
  void complete(ExchangeResult result);

  // Immutable after construction.
  const Request* const request;
  const TimePoint deadline;
  const std::chrono::nanoseconds connect_timeout;
  const std::optional<std::chrono::nanoseconds> stall_timeout;
  const std::optional<std::uint64_t> max_body_bytes;
  const TlsOptions tls;

  // Guarded by core_->mutex.
  Phase phase = Phase::queued;
  StopReason stop_reason = StopReason::none;
  std::string stop_detail;  // e.g. the observer's exception text
  int stop_fd = -1;         // a dup of the exchange's socket, owned by its worker; -1 if none
  TimePoint last_progress;  // the first request byte, then each response byte (the stall clock)
  TimePoint connect_started;  // when the worker took the exchange (the connect clock)
  // cpp-httplib wrote the first request byte: connecting (and the TLS handshake) is over, or a
  // kept-alive connection was reused. Until then the connect clock runs, after it the stall clock.
  bool request_started = false;

  // Touched only by the thread that owns the exchange's phase (worker or watchdog).
  std::shared_ptr<ExchangeObserver> observer;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace fetchpipe::detail
