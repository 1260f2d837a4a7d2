#include "exchange_state.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

namespace fetchpipe::detail {

void Core::wake_watchdog_before(TimePoint due) {
  if (due < watchdog_next) {
    watchdog_next = due;
    watchdog_wake.notify_one();
  }
}

HttplibExchange::HttplibExchange(std::shared_ptr<Core> core, const ExchangeSpec& spec,
                                 std::shared_ptr<ExchangeObserver> obs)
    : request(spec.request),
      deadline(spec.deadline),
      connect_timeout(spec.connect_timeout),
      stall_timeout(spec.stall_timeout),
      max_body_bytes(spec.max_body_bytes),
      tls(spec.tls != nullptr ? *spec.tls : TlsOptions{}),
      observer(std::move(obs)),
      core_(std::move(core)) {}

void HttplibExchange::cancel() {
  std::lock_guard lock(core_->mutex);
  // A queued exchange has no socket to shut down: the watchdog completes it, so wake it now.
  if (request_stop_locked(StopReason::cancelled) && phase == Phase::queued) {
    core_->watchdog_next = Clock::now();
    core_->watchdog_wake.notify_one();
  }
}

bool HttplibExchange::request_stop_locked(StopReason reason, std::string detail) {
  if (phase == Phase::done || stop_reason != StopReason::none) return false;
  stop_reason = reason;
  stop_detail = std::move(detail);
  // shutdown(), unlike httplib's Client::stop(), never blocks (stop() waits for a connect in
  // progress) and wakes a poll() in connect, the TLS handshake, a write or a read. stop_fd is our
  // own dup of the socket, so its number cannot have been reused by an unrelated descriptor.
  if (stop_fd >= 0) ::shutdown(stop_fd, SHUT_RDWR);
  return true;
}

TimePoint HttplibExchange::next_due_locked() const {
  TimePoint due = deadline;
  if (!request_started) return std::min(due, connect_started + connect_timeout);
  if (stall_timeout && last_progress + *stall_timeout < due) due = last_progress + *stall_timeout;
  return due;
}

void HttplibExchange::complete(ExchangeResult result) {
  auto obs = std::move(observer);
  if (!obs) return;
  try {
    obs->on_complete(std::move(result));
  } catch (...) {
    // The pipeline reports its own callbacks' exceptions; a transport thread must survive one.
  }
}

}  // namespace fetchpipe::detail
