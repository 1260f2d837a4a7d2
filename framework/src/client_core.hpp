// The state a client shares with its fetch operations. Private to the framework.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "admission_gate.hpp"
#include "fetchpipe/client.hpp"

namespace fetchpipe::detail {

class FetchOperation;

// The gate: every entry into an operation from outside (transport thread, timer, handle) holds it
// while it may use the client. Shutdown closes it and waits for holders to leave, so nothing uses
// the client's transport, scheduler or executor once shutdown has started. It outlives the client
// (operations share it), so a late entry can always ask it safely.
class Gate {
 public:
  [[nodiscard]] bool enter() noexcept {
    active_.fetch_add(1);
    if (closing_.load()) {
      leave();
      return false;
    }
    return true;
  }
  void leave() noexcept {
    if (active_.fetch_sub(1) == 1 && closing_.load()) active_.notify_all();
  }
  void close_and_wait() noexcept {
    closing_.store(true);
    for (int v = active_.load(); v != 0; v = active_.load()) active_.wait(v);
  }
  [[nodiscard]] bool closing() const noexcept { return closing_.load(); }

 private:
  std::atomic<int> active_{0};
  std::atomic<bool> closing_{false};
};

struct ClientCore {
  explicit ClientCore(ClientOptions opts);
  ~ClientCore();

  // Cancels every fetch, runs every terminal callback, and returns when none is left. After it
  // no operation touches this core again (see FetchOperation: a decided operation never does).
  void shutdown();

  void add(FetchOperation* op);
  void remove(FetchOperation* op);  // after the operation's terminal callback ran

  void report_exception(std::exception_ptr e) noexcept;
  // Calls `notify(listener)` when an event listener is set; what it throws goes to the hook.
  template <typename Notify>
  void emit(Notify&& notify) noexcept {
    if (!options.events) return;
    try {
      notify(*options.events);
    } catch (...) {
      report_exception(std::current_exception());
    }
  }

  ClientOptions options;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  // Shared with every operation: a transport reads ExchangeSpec::tls until the exchange ends,
  // which may be after the client is gone when the transport is shared and outlives it.
  std::shared_ptr<const TlsOptions> tls = std::make_shared<const TlsOptions>(options.tls);
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> hedges{0};
  std::atomic<std::uint64_t> budget_refusals{0};
  std::atomic<std::uint64_t> breaker_rejections{0};
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> next_fetch_id{1};
  // Set when ClientOptions::admission limits anything.
  std::optional<AdmissionGate> admission;

 private:
  std::mutex ops_mutex_;
  std::condition_variable ops_empty_;
  FetchOperation* ops_head_ = nullptr;  // intrusive list: no allocation per fetch
  std::size_t ops_count_ = 0;
};

// Holds the gate for a scope.
class GateGuard {
 public:
  explicit GateGuard(Gate& gate) noexcept : gate_(gate), open_(gate.enter()) {}
  ~GateGuard() {
    if (open_) gate_.leave();
  }
  GateGuard(const GateGuard&) = delete;
  GateGuard& operator=(const GateGuard&) = delete;
  [[nodiscard]] bool open() const noexcept { return open_; }

 private:
  Gate& gate_;
  bool open_;
};

}  // namespace fetchpipe::detail
