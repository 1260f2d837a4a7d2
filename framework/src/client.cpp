#include "fetchpipe/client.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "client_core.hpp"
#include "fetch_operation.hpp"
#include "fetchpipe/token_retry_budget.hpp"

namespace fetchpipe {
namespace detail {
namespace {

std::string show(std::chrono::nanoseconds d) {
  return fmt::format("{}ms", std::chrono::duration<double, std::milli>(d).count());
}

void require_positive(std::chrono::nanoseconds d, const char* field) {
  if (d <= std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument(fmt::format("ClientOptions.{} must be > 0, got {}", field, show(d)));
  }
}

ClientOptions validated(ClientOptions options) {
  if (!options.transport) throw std::invalid_argument("ClientOptions.transport must be set, got null");
  if (!options.retry_policy) throw std::invalid_argument("ClientOptions.retry_policy must be set, got null");
  if (!options.backoff_policy) throw std::invalid_argument("ClientOptions.backoff_policy must be set, got null");
  require_positive(options.timeouts.connect, "timeouts.connect");
  require_positive(options.timeouts.attempt, "timeouts.attempt");
  if (options.timeouts.stall) require_positive(*options.timeouts.stall, "timeouts.stall");
  if (options.timeouts.overall) require_positive(*options.timeouts.overall, "timeouts.overall");
  if (options.max_redirects < 0) {
    throw std::invalid_argument(fmt::format("ClientOptions.max_redirects must be >= 0, got {}", options.max_redirects));
  }
  const auto& admission = options.admission;
  if (admission.max_per_origin && *admission.max_per_origin < 1) {
    throw std::invalid_argument(
        fmt::format("ClientOptions.admission.max_per_origin must be >= 1, got {}", *admission.max_per_origin));
  }
  if (admission.rate_per_second && !(std::isfinite(*admission.rate_per_second) && *admission.rate_per_second > 0.0)) {
    throw std::invalid_argument(fmt::format("ClientOptions.admission.rate_per_second must be > 0 and finite, got {}",
                                            *admission.rate_per_second));
  }
  if (admission.rate_burst < 1) {
    throw std::invalid_argument(fmt::format("ClientOptions.admission.rate_burst must be >= 1, got {}", admission.rate_burst));
  }
  if (options.error_body_limit > 64 * 1024 * 1024) {
    throw std::invalid_argument(
        fmt::format("ClientOptions.error_body_limit must be <= 64 MiB, got {}", options.error_body_limit));
  }
  if (options.hedging) {
    const int n = options.hedging->max_in_flight();
    if (n < 2 || n > 5) {
      throw std::invalid_argument(fmt::format("ClientOptions.hedging: max_in_flight() must be 2..5, got {}", n));
    }
  }
  if (!options.retry_budget) options.retry_budget = std::make_shared<TokenRetryBudget>();
  if (!options.callback_executor) options.callback_executor = std::make_shared<ThreadPoolExecutor>(1);
  if (!options.scheduler) options.scheduler = std::make_shared<RealScheduler>();
  return options;
}

}  // namespace

ClientCore::ClientCore(ClientOptions opts) : options(validated(std::move(opts))) {
  if (options.admission.max_per_origin || options.admission.rate_per_second) admission.emplace(options.admission);
}

ClientCore::~ClientCore() {
  // Threads first, in the order that lets each finish its work: the transport stops calling
  // operations, the scheduler stops firing timers, the executor runs what is left and joins.
  options.transport.reset();
  options.scheduler.reset();
  options.callback_executor.reset();
}

void ClientCore::add(FetchOperation* op) {
  started.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(ops_mutex_);
  op->next_ = ops_head_;
  op->prev_ = nullptr;
  if (ops_head_ != nullptr) ops_head_->prev_ = op;
  ops_head_ = op;
  ++ops_count_;
}

void ClientCore::remove(FetchOperation* op) {
  std::shared_ptr<FetchOperation> last_ref;  // dropped after the lock, never inside it
  std::lock_guard lock(ops_mutex_);
  if (op->prev_ != nullptr) op->prev_->next_ = op->next_;
  else ops_head_ = op->next_;
  if (op->next_ != nullptr) op->next_->prev_ = op->prev_;
  op->prev_ = op->next_ = nullptr;
  last_ref = std::move(op->self_);
  if (--ops_count_ == 0) ops_empty_.notify_all();
}

void ClientCore::report_exception(std::exception_ptr e) noexcept {
  if (!options.on_callback_exception) return;
  try {
    options.on_callback_exception(e);
  } catch (...) {
    // The hook itself threw: there is nobody left to tell.
  }
}

void ClientCore::shutdown() {
  gate->close_and_wait();
  // Fetches started from callbacks while we work join the list; loop until it stays empty.
  for (;;) {
    std::vector<std::shared_ptr<FetchOperation>> ops;
    {
      std::lock_guard lock(ops_mutex_);
      for (auto* op = ops_head_; op != nullptr; op = op->next_) ops.push_back(op->self_);
    }
    if (ops.empty()) break;
    for (auto& op : ops) op->cancel_for_shutdown();
    for (auto& op : ops) op->drain_here();
    // No bound on the rounds: every fetch in the list gets its callback. A fetch started once the
    // gate is closed never launches an exchange, so each round ends at once; only callbacks that
    // start a new fetch every time they are cancelled keep this going, as any unbounded
    // recursion would.
  }
}

}  // namespace detail

bool FetchHandle::cancel() const {
  if (!op_) return false;
  const detail::ApiCallScope scope;
  return op_->cancel();
}

bool FetchHandle::done() const { return op_ ? op_->decided() : true; }

Client::Client(ClientOptions options) : core_(std::make_shared<detail::ClientCore>(std::move(options))) {}

Client::~Client() {
  core_->shutdown();
  core_.reset();
}

FetchHandle Client::fetch(Request request, Callbacks callbacks) {
  return fetch(std::move(request), std::move(callbacks), std::stop_token{});
}

FetchHandle Client::fetch(Request request, Callbacks callbacks, std::stop_token stop) {
  const detail::ApiCallScope scope;
  auto op = std::make_shared<detail::FetchOperation>(*core_, std::move(request), std::move(callbacks));
  op->self_ = op;
  core_->add(op.get());
  op->begin(stop.stop_possible() ? std::optional<std::stop_token>{std::move(stop)} : std::nullopt);
  return FetchHandle(std::move(op));
}

ClientStats Client::stats() const {
  ClientStats s;
  s.started = core_->started.load();
  s.succeeded = core_->succeeded.load();
  s.failed = core_->failed.load();
  s.cancelled = core_->cancelled.load();
  s.attempts = core_->attempts.load();
  s.retries = core_->retries.load();
  s.hedges = core_->hedges.load();
  s.budget_refusals = core_->budget_refusals.load();
  s.breaker_rejections = core_->breaker_rejections.load();
  s.queued = core_->queued.load();
  const auto ended = s.succeeded + s.failed + s.cancelled;
  s.in_flight = s.started > ended ? s.started - ended : 0;
  return s;
}

const ClientOptions& Client::options() const noexcept { return core_->options; }

}  // namespace fetchpipe
