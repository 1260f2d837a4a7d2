// The hedging half of FetchOperation (see Leg in fetch_operation.hpp): the legs of one attempt
// racing for the first accepted response head.
#include <fmt/format.h>

#include <algorithm>

#include "fetch_operation.hpp"
#include "time_math.hpp"

namespace fetchpipe::detail {

FetchOperation::Leg* FetchOperation::find_leg_locked(std::uint64_t seq) {
  for (auto& leg : legs_) {
    if (leg.seq == seq) return &leg;
  }
  return nullptr;
}

void FetchOperation::drop_leg_locked(std::uint64_t seq) {
  std::erase_if(legs_, [seq](const Leg& leg) { return leg.seq == seq; });
}

bool FetchOperation::racing_locked() const {
  return std::any_of(legs_.begin(), legs_.end(),
                     [this](const Leg& leg) { return !(in_exchange_ && leg.seq == exchange_seq_); });
}

bool FetchOperation::may_hedge_locked() const {
  return static_cast<int>(legs_.size()) < hedge_max_ && (hedge_limit_ == 0 || attempt_ < hedge_limit_);
}

TimerId FetchOperation::close_race_locked() {
  race_open_ = false;
  return std::exchange(hedge_timer_, 0);
}

void FetchOperation::promote_locked(const Leg& leg) {
  exchange_ = leg.exchange;
  exchange_seq_ = leg.seq;
  current_ = leg.record;
  attempt_deadline_ = leg.deadline;
  in_exchange_ = true;
  reset_exchange_state_locked();
}

void FetchOperation::crown_locked(std::uint64_t seq, std::vector<std::shared_ptr<Exchange>>& stop) {
  const Leg* found = find_leg_locked(seq);
  if (!found) return;
  const Leg winner = *found;
  const TimePoint now = core_.options.scheduler->now();
  for (auto& leg : legs_) {
    if (leg.seq == seq) continue;
    auto& record = records_[leg.record];
    record.elapsed = now - record.start;
    record.error = ErrorKind::cancelled;
    record.message = fmt::format("cancelled: attempt {} answered first", records_[winner.record].number);
    enqueue_attempt_report(leg.record);
    // A leg whose start() has not returned is cancelled when it does (store_started_locked).
    if (leg.exchange) stop.push_back(std::move(leg.exchange));
  }
  legs_.assign(1, winner);
  if (!(in_exchange_ && seq == exchange_seq_)) promote_locked(winner);
  race_open_ = false;
}

void FetchOperation::end_racing_legs_locked(ErrorKind kind, std::string_view message,
                                            std::vector<std::shared_ptr<Exchange>>& stop) {
  if (legs_.empty()) return;
  const TimePoint now = core_.options.scheduler->now();
  for (auto& leg : legs_) {
    if (in_exchange_ && leg.seq == exchange_seq_) continue;  // the current one: its decision records it
    auto& record = records_[leg.record];
    record.elapsed = now - record.start;
    record.error = kind;
    record.message = std::string(message);
    enqueue_attempt_report(leg.record);
    if (leg.exchange) stop.push_back(std::move(leg.exchange));
  }
  legs_.clear();
}

void FetchOperation::leg_lost(std::unique_lock<std::mutex>& lock, std::uint64_t seq, ErrorKind kind,
                              std::string message, std::optional<int> status, Headers headers, bool still_running) {
  const TimePoint now = core_.options.scheduler->now();
  const Leg* leg = find_leg_locked(seq);
  const std::size_t index = leg ? leg->record : current_;
  std::shared_ptr<Exchange> stop = still_running && leg ? leg->exchange : nullptr;
  auto& record = records_[index];
  record.elapsed = now - record.start;
  record.status = status;
  if (kind != ErrorKind::http_status) record.error = kind;
  record.message = record.message.empty() ? message : fmt::format("{}; {}", message, record.message);
  const bool was_current = seq == exchange_seq_;
  drop_leg_locked(seq);
  if (was_current && !legs_.empty()) {
    const Leg next = legs_.front();  // the oldest racing leg carries the attempt on
    promote_locked(next);
  }
  enqueue_attempt_report(index);
  const int attempt = attempt_;
  const std::uint64_t race = race_;
  lock.unlock();
  if (stop) stop->cancel();
  // A retryable outcome would have been retried after a backoff: with the race still on, the
  // next hedge goes at once instead (still within the attempt limit and the budget).
  if (retryable(kind, status, headers.empty() ? nullptr : &headers, attempt)) start_hedge(race, std::chrono::nanoseconds{0});
  flush(Defer::no);
}

bool FetchOperation::retryable(ErrorKind kind, std::optional<int> status, const Headers* headers, int attempt) {
  if (kind == ErrorKind::cancelled || kind == ErrorKind::deadline_exceeded) return false;
  RetryContext context;
  context.request = &request_;
  context.attempt = attempt;
  context.max_attempts = request_.overrides.max_attempts;
  if (kind == ErrorKind::http_status) {
    context.status = status;
    context.response_headers = headers;
  } else {
    context.error = kind;
  }
  context.system_now = core_.options.scheduler->system_now();
  try {
    std::lock_guard policy_lock(policy_mutex_);
    if (!retry_policy_) retry_policy_ = retry_prototype_->clone();
    return retry_policy_->decide(context).retry;
  } catch (...) {
    core_.report_exception(std::current_exception());
    return false;
  }
}

void FetchOperation::arm_hedge_timer() {
  std::uint64_t race = 0;
  TimePoint from{};
  {
    std::lock_guard lock(mutex_);
    if (decided_ || !race_open_ || !may_hedge_locked()) return;
    race = race_;
    from = last_leg_start_;
  }
  std::optional<std::chrono::nanoseconds> delay;
  try {
    delay = core_.options.hedging->hedge_delay(origin_.view());
  } catch (...) {
    core_.report_exception(std::current_exception());
    return;
  }
  if (!delay) return;
  const TimePoint at = later(from, std::max(*delay, std::chrono::nanoseconds::zero()));
  if (deadline_ && at >= *deadline_) return;  // deadline_ is written once, before any attempt
  const TimerId timer = core_.options.scheduler->schedule_task(at, [weak = weak_from_this(), race] {
    if (auto self = weak.lock()) self->hedge_due(race);
  });
  bool stale = false;
  {
    std::lock_guard lock(mutex_);
    if (decided_ || !race_open_ || race != race_) stale = true;
    else hedge_timer_ = timer;
  }
  if (stale && timer != 0) core_.options.scheduler->cancel(timer);
}

void FetchOperation::hedge_due(std::uint64_t race) {
  try {
    GateGuard gate(*gate_);
    if (!gate.open()) return;
    std::chrono::nanoseconds after{0};
    {
      std::lock_guard lock(mutex_);
      if (decided_ || !race_open_ || race != race_) return;
      hedge_timer_ = 0;
      after = core_.options.scheduler->now() - last_leg_start_;
    }
    start_hedge(race, after);
  } catch (...) {
    fail_internal(std::current_exception());
  }
}

// The caller holds the gate, not `mutex_`.
void FetchOperation::start_hedge(std::uint64_t race, std::chrono::nanoseconds after) {
  {
    std::lock_guard lock(mutex_);
    if (decided_ || !race_open_ || race != race_ || !may_hedge_locked()) return;
  }
  const TimePoint now = core_.options.scheduler->now();
  if (!core_.options.retry_budget->try_spend(origin_.view(), now)) {
    {
      std::lock_guard lock(mutex_);
      if (decided_ || !race_open_ || race != race_) return;
      core_.budget_refusals.fetch_add(1, std::memory_order_relaxed);
      auto& record = current_record();
      if (record.message.empty()) {
        record.message = fmt::format("no hedge: the retry budget of {} is spent", origin_.view());
      }
      if (auto& events = core_.options.events) {
        enqueue([events, e = BudgetRefused{id_, origin_.view(), now}] { events->on_budget_refused(e); });
      }
    }
    flush(Defer::no);
    return;
  }
  ExchangeSpec spec;
  std::shared_ptr<LegObserver> observer;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    // Decided or answered meanwhile: the unit of budget spent is lost (a narrow race).
    if (decided_ || !race_open_ || race != race_ || !may_hedge_locked()) return;
    ++attempt_;
    core_.attempts.fetch_add(1, std::memory_order_relaxed);
    core_.hedges.fetch_add(1, std::memory_order_relaxed);
    AttemptRecord record;
    record.number = attempt_;
    record.start = now;
    record.hedge = true;
    record.resumed_from = asked_from_;
    records_.push_back(std::move(record));
    TimePoint deadline = later(now, timeouts_.attempt);
    if (deadline_ && *deadline_ < deadline) deadline = *deadline_;
    seq = ++seq_counter_;
    ++exchanges_outstanding_;
    observer = std::make_shared<LegObserver>(shared_from_this(), seq, hop_request_ ? *hop_request_ : request_);
    spec.request = &observer->request;
    spec.deadline = deadline;
    spec.connect_timeout = bounded(timeouts_.connect);
    if (timeouts_.stall) spec.stall_timeout = bounded(*timeouts_.stall);
    spec.tls = tls_.get();
    legs_.push_back(Leg{seq, records_.size() - 1, deadline, nullptr});
    last_leg_start_ = now;
    if (auto& events = core_.options.events) {
      enqueue([events, e = AttemptStarted{id_, attempt_, request_.url, origin_.view(), now, true}] {
        events->on_attempt_started(e);
      });
      enqueue([events, e = HedgeStarted{id_, attempt_, origin_.view(), after, now}] { events->on_hedge_started(e); });
    }
  }
  flush(Defer::no);
  std::shared_ptr<Exchange> exchange;
  try {
    exchange = core_.options.transport->start(spec, observer);
  } catch (const std::exception& e) {
    std::unique_lock lock(mutex_);
    --exchanges_outstanding_;  // never started: no on_complete will come
    if (decided_ || !find_leg_locked(seq)) {
      drop_leg_locked(seq);
      if (decided_) settle_pending_.store(true, std::memory_order_relaxed);
      lock.unlock();
      settle();
      return;
    }
    leg_lost(lock, seq, ErrorKind::internal_error,
             fmt::format("the {} transport refused the exchange: {}", core_.options.transport->name(), e.what()),
             std::nullopt, Headers{}, false);
    return;
  }
  bool cancel_it = false;
  {
    std::lock_guard lock(mutex_);
    cancel_it = store_started_locked(seq, exchange);
  }
  if (cancel_it && exchange) exchange->cancel();
  arm_hedge_timer();
}

}  // namespace fetchpipe::detail
