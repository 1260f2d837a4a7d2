#include "watchdog.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "error_mapping.hpp"

namespace fetchpipe::detail {
namespace {

// True while the kernel still holds request bytes the peer has not acknowledged: the request is
// still being sent (a slow upload is not a stall: the stall clock starts once it was sent).
bool request_unsent(int fd) {
  int queued = 0;
  return fd >= 0 && ::ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0;
}

using Finished = std::vector<std::pair<std::shared_ptr<HttplibExchange>, ExchangeResult>>;

// Takes cancelled and expired exchanges out of the queue; returns the earliest other deadline.
TimePoint sweep_queue(Core& core, TimePoint now, Finished& finished) {
  TimePoint next = TimePoint::max();
  auto& queue = core.queue;
  for (auto it = queue.begin(); it != queue.end();) {
    HttplibExchange& ex = **it;
    if (ex.stop_reason != StopReason::none || now >= ex.deadline) {
      ex.phase = Phase::done;
      finished.emplace_back(std::move(*it), result_while_queued(ex.stop_reason, ex.stop_detail));
      it = queue.erase(it);
    } else {
      next = std::min(next, ex.deadline);
      ++it;
    }
  }
  return next;
}

// Interrupts running exchanges whose deadline or stall clock ran out; returns the next due time.
TimePoint check_running(Core& core, TimePoint now) {
  TimePoint next = TimePoint::max();
  for (const auto& slot : core.running) {
    if (!slot || slot->phase != Phase::running || slot->stop_reason != StopReason::none) continue;
    HttplibExchange& ex = *slot;
    if (now >= ex.deadline) {
      ex.request_stop_locked(StopReason::deadline);
      continue;
    }
    // The connect clock covers resolving, the TCP connect and the TLS handshake together, up to
    // the first request byte (cpp-httplib would give TCP and TLS a full timeout each).
    if (!ex.request_started && now >= ex.connect_started + ex.connect_timeout) {
      ex.request_stop_locked(StopReason::connect_timeout);
      continue;
    }
    // The stall clock: no response byte for the stall time after the request was sent.
    if (ex.request_started && ex.stall_timeout && now >= ex.last_progress + *ex.stall_timeout) {
      if (!request_unsent(ex.stop_fd)) {
        ex.request_stop_locked(StopReason::stall);
        continue;
      }
      ex.last_progress = now;
    }
    next = std::min(next, ex.next_due_locked());
  }
  return next;
}

}  // namespace

void run_watchdog(Core& core) {
  std::unique_lock lock(core.mutex);
  Finished finished;
  while (!core.watchdog_exit) {
    const TimePoint now = Clock::now();
    const TimePoint next = std::min(sweep_queue(core, now, finished), check_running(core, now));
    if (!finished.empty()) {
      lock.unlock();
      for (auto& [ex, result] : finished) ex->complete(std::move(result));
      finished.clear();
      lock.lock();
      continue;  // time moved on while the observers ran
    }
    core.watchdog_next = next;
    if (next == TimePoint::max()) {
      core.watchdog_wake.wait(lock);
    } else {
      core.watchdog_wake.wait_until(lock, next);
    }
  }
}

}  // namespace fetchpipe::detail
