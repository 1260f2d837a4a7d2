#include "fetch_operation.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "request_validation.hpp"
#include "resume.hpp"
#include "response_framing.hpp"
#include "time_math.hpp"

namespace fetchpipe::detail {
namespace {

bool is_redirect_status(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The first line of a rejected body, for the error message: short and printable.
std::string excerpt(std::string_view body) {
  body = body.substr(0, body.find_first_of("\r\n"));
  std::string out;
  for (const char c : body.substr(0, 120)) out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  return out;
}

// A rejected or redirect response's body is read up to this many bytes (or the error body limit,
// if larger), so a short error page leaves the connection reusable; past it, closing the
// connection is cheaper than reading on, and a hostile server cannot keep the attempt busy with
// an endless error body.
constexpr std::uint64_t kDrainBytes = 64 * 1024;

// Inside Client::fetch or FetchHandle::cancel on this thread: an inline executor must not run a
// callback now (contract rule 3), whichever path decided the outcome.
thread_local int t_api_depth = 0;

}  // namespace

ApiCallScope::ApiCallScope() noexcept { ++t_api_depth; }
ApiCallScope::~ApiCallScope() { --t_api_depth; }

namespace {

// The client's timeouts with the request's overrides applied.
Timeouts effective_timeouts(Timeouts t, const RequestOverrides& o) {
  if (o.connect_timeout) t.connect = *o.connect_timeout;
  if (o.attempt_timeout) t.attempt = *o.attempt_timeout;
  if (o.stall_timeout) t.stall = *o.stall_timeout;
  if (o.overall_timeout) t.overall = *o.overall_timeout;
  return t;
}

}  // namespace

void FetchOperation::StopCancel::operator()() const noexcept {
  if (auto self = op.lock()) self->cancel();
}

FetchOperation::FetchOperation(ClientCore& core, Request request, Callbacks callbacks)
    : core_(core),
      gate_(core.gate),
      tls_(core.tls),
      request_(std::move(request)),
      callbacks_(std::move(callbacks)),
      streams_(static_cast<bool>(callbacks_.on_chunk)),
      rewinds_(static_cast<bool>(callbacks_.on_rewind)),
      reports_attempts_(static_cast<bool>(callbacks_.on_attempt)),
      id_(core.next_fetch_id.fetch_add(1, std::memory_order_relaxed)),
      timeouts_(effective_timeouts(core.options.timeouts, request_.overrides)),
      max_body_bytes_(request_.overrides.max_body_bytes ? request_.overrides.max_body_bytes : core.options.max_body_bytes),
      retry_prototype_(request_.overrides.retry_policy ? request_.overrides.retry_policy : core.options.retry_policy),
      backoff_prototype_(request_.overrides.backoff_policy ? request_.overrides.backoff_policy
                                                          : core.options.backoff_policy),
      hedging_(core.options.hedging != nullptr && request_.is_idempotent()) {
  if (hedging_) {
    hedge_limit_ = request_.overrides.max_attempts.value_or(retry_prototype_->attempt_limit().value_or(0));
    hedge_max_ = std::clamp(core.options.hedging->max_in_flight(), 2, 5);
  }
}


FetchOperation::~FetchOperation() = default;

void FetchOperation::begin(std::optional<std::stop_token> stop) {
  try {
    begin_locked_steps(std::move(stop));
  } catch (...) {
    fail_internal(std::current_exception());
  }
}

void FetchOperation::begin_locked_steps(std::optional<std::stop_token> stop) {
  {
    std::lock_guard lock(mutex_);
    started_at_ = core_.options.scheduler->now();
    if (timeouts_.overall) deadline_ = later(started_at_, *timeouts_.overall);
    const auto url = Url::parse(request_.url);  // once, for the check and the origin
    auto problem = detail::validate(request_, url);
    if (!problem) origin_.assign(*url);
    if (auto& events = core_.options.events) {
      enqueue([events, e = FetchStarted{id_, request_.method, request_.url, origin_.view(), started_at_}] {
        events->on_fetch_started(e);
      });
    }
    if (problem) decide_failure(ErrorKind::invalid_request, GiveUpReason::not_retryable, *problem, std::nullopt);
  }
  if (decided()) {
    flush(Defer::yes);
    return;
  }
  arm_deadline();
  // May run cancel() right here when a stop was already requested; that defers like cancel().
  if (stop) stop_callback_.emplace(*stop, StopCancel{weak_from_this()});
  GateGuard gate(*gate_);
  if (gate.open()) enter_admission();
}

void FetchOperation::enter_admission() {
  auto& admission = core_.admission;
  if (!admission || !admission->limits_concurrency()) {
    after_slot(false);
    return;
  }
  // A slot taken at once was never visible to anyone else (no queue holds us), so it is recorded
  // under the lock the next stage takes anyway (take_slot_locked), not under one of its own.
  if (admission->acquire(origin_.view(), *this, slot_entry_)) {
    after_slot(true);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    // Queued. release() on another thread may already have handed us a slot (admitted() ran).
    if (slot_ != Slot::none) return;
    slot_ = Slot::queued;
    queued_at_ = core_.options.scheduler->now();
    if (decided_) {
      // Cancelled between acquire() and here, when settle() saw no slot: withdraw on our flush.
      settle_pending_.store(true, std::memory_order_relaxed);
    } else {
      core_.queued.fetch_add(1, std::memory_order_relaxed);
      if (auto& events = core_.options.events) {
        enqueue([events, e = FetchQueued{id_, origin_.view(), queued_at_}] { events->on_fetch_queued(e); });
      }
    }
  }
  flush(Defer::no);
}

void FetchOperation::take_slot_locked(bool took_slot) {
  if (!took_slot) return;
  slot_ = Slot::holding;
  // Decided before the slot was recorded: nobody has settled it yet, so our flush gives it back.
  if (decided_) settle_pending_.store(true, std::memory_order_relaxed);
}

void FetchOperation::admitted() {
  try {
    GateGuard gate(*gate_);
    bool give_back = false;
    {
      std::lock_guard lock(mutex_);
      if (decided_) {
        slot_ = Slot::released;
        give_back = true;
      } else {
        // Handed a slot before enter_admission() recorded the queue (slot_ still none): it waited
        // no time worth reporting, and queued_at_ is not set yet.
        const bool recorded = slot_ == Slot::queued;
        slot_ = Slot::holding;
        if (!gate.open()) return;  // shutting down: its cancel settles the slot
        if (auto& events = core_.options.events) {
          const TimePoint now = core_.options.scheduler->now();
          const std::chrono::nanoseconds waited = recorded ? now - queued_at_ : std::chrono::nanoseconds{0};
          enqueue([events, e = FetchAdmitted{id_, origin_.view(), waited, now}] { events->on_fetch_admitted(e); });
        }
      }
    }
    // Our caller, release(), uses the gate's owner: the client is alive for this call.
    if (give_back) {
      core_.admission->release(slot_entry_);
      return;
    }
    after_slot(false);
  } catch (...) {
    fail_internal(std::current_exception());
  }
}

void FetchOperation::after_slot(bool took_slot) {
  auto& admission = core_.admission;
  if (!admission || !admission->limits_rate()) {
    start_attempt(took_slot);
    return;
  }
  const TimePoint now = core_.options.scheduler->now();
  const std::optional<TimePoint> start = admission->reserve_start(now, deadline_);
  if (start && *start <= now) {
    start_attempt(took_slot, now);  // it checks whether the fetch ended meanwhile
    return;
  }
  std::unique_lock lock(mutex_);
  take_slot_locked(took_slot);
  if (decided_) {
    lock.unlock();
    flush(Defer::no);  // gives back a slot take_slot_locked recorded after the decision
    return;
  }
  if (!start) {
    decide_failure(ErrorKind::deadline_exceeded, GiveUpReason::deadline,
                   fmt::format("not started: the rate limit of {}/s has no start time before the deadline",
                               *core_.options.admission.rate_per_second),
                   std::nullopt);
    lock.unlock();
    flush(Defer::no);
    return;
  }
  schedule_retry(lock, *start);  // the first attempt waits like a retry: cancel finds the timer
}

void FetchOperation::start_attempt(bool took_slot, std::optional<TimePoint> read_now) {
  settle();  // the breaker hears how the last attempt ended before it is asked about this one
  const auto& breaker = core_.options.circuit_breaker;
  const TimePoint now = read_now ? *read_now : core_.options.scheduler->now();
  Admission verdict;
  if (breaker) verdict = breaker->admit(origin_.view(), now);
  bool first = false;
  bool launch = false;
  {
    std::unique_lock lock(mutex_);
    take_slot_locked(took_slot);
    if (decided_) {
      if (breaker && verdict.verdict != Admission::Verdict::rejected) {
        breaker_admitted_ = true;
        breaker_probe_ = verdict.verdict == Admission::Verdict::probe;
        end_breaker_attempt_locked(AttemptOutcome::abandoned);
      }
    } else if (verdict.verdict == Admission::Verdict::rejected) {
      core_.breaker_rejections.fetch_add(1, std::memory_order_relaxed);
      AttemptRecord record;
      record.number = ++attempt_;
      record.start = now;
      record.error = ErrorKind::circuit_open;
      record.message = fmt::format("not sent: the circuit breaker of {} is open", origin_.view());
      records_.push_back(std::move(record));
      current_ = records_.size() - 1;
      // Nothing was sent, so waiting out the open period is free, if the deadline leaves room.
      if (deadline_ && verdict.retry_at < *deadline_) {
        current_record().backoff = verdict.retry_at - now;
        enqueue_attempt_report();
        schedule_retry(lock, verdict.retry_at);
      } else {
        decide_failure(ErrorKind::circuit_open, GiveUpReason::circuit_open,
                       fmt::format("not sent: the circuit breaker of {} is open", origin_.view()), std::nullopt);
      }
    } else {
      breaker_admitted_ = static_cast<bool>(breaker);
      breaker_probe_ = verdict.verdict == Admission::Verdict::probe;
      first = attempt_ == 0;
      launch = true;
      prepare_attempt_locked();
      asked_from_.reset();
      base_ = 0;
      if (can_resume_locked()) {
        // Continue from the bytes the sink holds instead of starting over.
        asked_from_ = sink_bytes_;
        hop_request_ = resume_request(request_, sink_bytes_, *resume_validator_);
        if (!streams_ && resumed_body_.empty()) resumed_body_ = std::move(body_);
        current_record().resumed_from = asked_from_;
      } else if (committed_) {
        // Only reachable with on_rewind set: the sink starts over before any byte of this attempt.
        committed_ = false;
        sink_bytes_ = 0;
        enqueue([this] { callbacks_.on_rewind(); });
      }
      if (auto& events = core_.options.events) {
        const Request& sent = request_;
        enqueue([events, e = AttemptStarted{id_, attempt_, sent.url, origin_.view(), now, false}] {
          events->on_attempt_started(e);
        });
      }
    }
  }
  if (verdict.transition) {
    core_.emit([&](EventListener& l) {
      l.on_breaker_state_changed({origin_.view(), verdict.transition->from, verdict.transition->to, now});
    });
  }
  flush(Defer::no);  // settles what a decision above left, and delivers events or a rewind
  if (!launch) return;
  if (first) core_.options.retry_budget->record_request(origin_.view(), now);
  launch_exchange(true);
}

void FetchOperation::end_breaker_attempt_locked(AttemptOutcome outcome) {
  if (!breaker_admitted_) return;
  breaker_admitted_ = false;
  breaker_report_ = outcome;
  breaker_report_probe_ = breaker_probe_;
  settle_pending_.store(true, std::memory_order_relaxed);
}

void FetchOperation::settle(bool shutting_down) {
  if (give_back_slot_.load(std::memory_order_relaxed) && give_back_slot_.exchange(false)) {
    core_.admission->release(slot_entry_);
  }
  if (!settle_pending_.exchange(false) && !shutting_down) return;
  std::optional<AttemptOutcome> report;
  bool probe = false;
  bool give_back = false;
  bool withdraw = false;
  std::vector<std::shared_ptr<Exchange>> stop;
  {
    std::lock_guard lock(mutex_);
    stop.swap(stopping_);
    report = std::exchange(breaker_report_, std::nullopt);
    probe = breaker_report_probe_;
    // The slot stays taken until the transport is done with the fetch's exchange, so an origin
    // never has more than the limit of exchanges in flight, cancelled ones included. A client
    // shutting down ignores exchanges it will never hear of again.
    if (decided_ && slot_ == Slot::holding && (exchanges_outstanding_ == 0 || shutting_down)) {
      slot_ = Slot::released;
      give_back = true;
    } else if (decided_ && slot_ == Slot::queued) {
      withdraw = true;
    }
  }
  for (auto& exchange : stop) exchange->cancel();
  if (report && core_.options.circuit_breaker) {
    try {
      const TimePoint now = core_.options.scheduler->now();
      if (const auto changed = core_.options.circuit_breaker->report(origin_.view(), now, *report, probe)) {
        core_.emit([&](EventListener& l) { l.on_breaker_state_changed({origin_.view(), changed->from, changed->to, now}); });
      }
    } catch (...) {
      core_.report_exception(std::current_exception());
    }
  }
  if (withdraw && core_.admission->withdraw(slot_entry_, this)) {
    std::lock_guard lock(mutex_);
    slot_ = Slot::released;
  }
  // A withdraw that found nothing: release() is handing us the slot right now, and admitted()
  // gives it back, seeing the fetch decided.
  if (give_back) core_.admission->release(slot_entry_);
}

bool FetchOperation::decided() const {
  std::lock_guard lock(mutex_);
  return decided_;
}

void FetchOperation::prepare_attempt_locked() {
  const TimePoint now = core_.options.scheduler->now();
  ++attempt_;
  core_.attempts.fetch_add(1, std::memory_order_relaxed);
  if (attempt_ > 1) core_.retries.fetch_add(1, std::memory_order_relaxed);
  AttemptRecord record;
  record.number = attempt_;
  record.start = now;
  records_.push_back(std::move(record));
  current_ = records_.size() - 1;
  attempt_deadline_ = later(now, timeouts_.attempt);
  if (deadline_ && *deadline_ < attempt_deadline_) attempt_deadline_ = *deadline_;
  redirects_ = 0;
  hop_request_.reset();
  hop_url_.reset();
}

AttemptRecord& FetchOperation::current_record() { return records_[current_]; }

void FetchOperation::reset_exchange_state_locked() {
  head_ = ResponseHead{};
  have_head_ = false;
  mode_ = BodyMode::buffer;
  body_.clear();
  exchange_bytes_ = 0;
  resource_changed_ = false;
  body_cut_ = false;
  drain_stopped_ = false;
  abort_reason_.reset();
  abort_message_.clear();
  expected_length_.reset();
}

bool FetchOperation::store_started_locked(std::uint64_t seq, const std::shared_ptr<Exchange>& exchange) {
  if (decided_) return true;  // a cancel that came while start() ran found nothing to abort
  Leg* leg = hedging_ ? find_leg_locked(seq) : nullptr;
  if (leg) leg->exchange = exchange;
  if (in_exchange_ && seq == exchange_seq_) {
    exchange_ = exchange;
    return false;
  }
  // A leg that lost while start() ran (or one that already ended: cancel() is then a no-op).
  return hedging_ && leg == nullptr;
}

// Caller holds the gate.
void FetchOperation::launch_exchange(bool opens_race) {
  ExchangeSpec spec;
  std::uint64_t seq = 0;
  std::shared_ptr<LegObserver> leg;
  bool race = false;
  {
    std::lock_guard lock(mutex_);
    if (decided_) return;
    reset_exchange_state_locked();
    if (!streams_ && !asked_from_) {
      sink_bytes_ = 0;
      resumed_body_.clear();
    }
    spec.request = hop_request_ ? &*hop_request_ : &request_;
    spec.deadline = attempt_deadline_;
    spec.connect_timeout = bounded(timeouts_.connect);
    if (timeouts_.stall) spec.stall_timeout = bounded(*timeouts_.stall);
    // No max_body_bytes hint: whether the limit applies depends on the status, which the
    // transport cannot judge; on_head checks Content-Length once the response is known accepted.
    spec.tls = tls_.get();
    in_exchange_ = true;
    ++exchanges_outstanding_;
    seq = ++seq_counter_;
    exchange_seq_ = seq;
    if (hedging_) {
      leg = std::make_shared<LegObserver>(shared_from_this(), seq, *spec.request);
      spec.request = &leg->request;
      legs_.push_back(Leg{seq, current_, attempt_deadline_, nullptr});
      // The probe of a half-open breaker goes alone: the breaker lets exactly one through.
      if (opens_race && !breaker_probe_) {
        race = race_open_ = true;
        ++race_;
        last_leg_start_ = current_record().start;
      }
    }
  }
  std::shared_ptr<Exchange> exchange;
  try {
    if (leg) exchange = core_.options.transport->start(spec, leg);
    else exchange = core_.options.transport->start(spec, shared_from_this());
  } catch (const std::exception& e) {
    std::unique_lock lock(mutex_);
    --exchanges_outstanding_;  // never started: no on_complete will come
    if (hedging_) drop_leg_locked(seq);
    if (decided_) settle_pending_.store(true, std::memory_order_relaxed);
    if (decided_ || !in_exchange_ || seq != exchange_seq_) {
      lock.unlock();
      settle();
      return;
    }
    in_exchange_ = false;
    attempt_failed(lock, ErrorKind::internal_error,
                   fmt::format("the {} transport refused the exchange: {}", core_.options.transport->name(), e.what()),
                   std::nullopt);
    return;
  }
  bool cancel_it = false;
  {
    std::lock_guard lock(mutex_);
    cancel_it = store_started_locked(seq, exchange);
  }
  if (cancel_it && exchange) exchange->cancel();
  if (race) arm_hedge_timer();
}

void FetchOperation::on_head(ResponseHead head) { head_arrived(kDirect, std::move(head)); }

bool FetchOperation::on_body(std::string_view chunk) { return body_arrived(kDirect, chunk); }

void FetchOperation::head_arrived(std::uint64_t seq, ResponseHead&& head) {
  GateGuard gate(*gate_);
  if (!gate.open()) return;
  const int status = head.status;
  const bool redirect =
      is_redirect_status(status) && core_.options.max_redirects > 0 && head.headers.contains("Location");
  const bool accepted = !redirect && retry_prototype_->is_success(status);  // user code: unlocked
  std::shared_ptr<Exchange> stop;
  std::vector<std::shared_ptr<Exchange>> losers;
  std::optional<std::chrono::nanoseconds> latency;  // of an attempt's first answer, for the hedging policy
  TimerId hedge_timer = 0;
  {
    std::unique_lock lock(mutex_);
    if (decided_) return;
    if (seq == kDirect && !in_exchange_) return;
    const bool current = seq == kDirect || (in_exchange_ && seq == exchange_seq_);
    if (!current && !find_leg_locked(seq)) return;  // a leg that already lost
    if (!current || (hedging_ && racing_locked())) {
      if (!(redirect || accepted)) {
        // Rejected while another leg of the race still runs: this one lost, the race goes on.
        leg_lost(lock, seq, ErrorKind::http_status, fmt::format("HTTP {}", status), status, std::move(head.headers),
                 true);
        return;
      }
      crown_locked(seq, losers);
    }
    if (hedging_) hedge_timer = close_race_locked();  // this attempt has its answer
    if ((redirect || accepted) && redirects_ == 0 && core_.options.hedging) {
      latency = core_.options.scheduler->now() - current_record().start;
    }
    stop = take_head_locked(std::move(head), redirect, accepted);
  }
  if (hedge_timer != 0) core_.options.scheduler->cancel(hedge_timer);
  for (auto& loser : losers) loser->cancel();
  if (stop) stop->cancel();
  if (latency) {
    try {
      core_.options.hedging->record_latency(origin_.view(), *latency);
    } catch (...) {
      core_.report_exception(std::current_exception());
    }
  }
  if (!losers.empty()) flush(Defer::no);  // the losers' attempt reports
}

std::shared_ptr<Exchange> FetchOperation::take_head_locked(ResponseHead&& head, bool redirect, bool accepted) {
  const int status = head.status;
  head_ = std::move(head);
  have_head_ = true;
  const auto framing = framing_of(head_, (hop_request_ ? *hop_request_ : request_).method);
  if (redirect) {
    mode_ = BodyMode::discard;
  } else if (accepted) {
    mode_ = streams_ ? BodyMode::stream : BodyMode::buffer;
    judge_resumed_head_locked();
    const auto& limit = max_body_bytes_;
    expected_length_ = framing.length;
    if (!framing.problem && limit && framing.length && base_ + *framing.length > *limit) {
      abort_reason_ = ErrorKind::body_too_large;  // refused before any byte of it is read
      abort_message_ = fmt::format("the body ({} bytes announced) exceeds the limit of {} bytes", *framing.length, *limit);
    }
  } else {
    mode_ = BodyMode::keep_excerpt;
    if (asked_from_ && status == 416) resume_validator_.reset();  // the range is not there: start over
  }
  // A broken head of a response we accept, or an interim status handed over as final, is
  // counted as a reset: the connection carried something that is not this response.
  if (framing.problem && (mode_ != BodyMode::keep_excerpt || status < 200)) {
    abort_reason_ = ErrorKind::connection_reset;
    abort_message_ = *framing.problem;
  }
  // null while start() has not returned: on_body then stops it
  return abort_reason_ ? exchange_ : nullptr;
}

bool FetchOperation::body_arrived(std::uint64_t seq, std::string_view chunk) {
  GateGuard gate(*gate_);
  if (!gate.open()) return false;
  bool delivered = false;
  {
    std::lock_guard lock(mutex_);
    if (decided_ || !in_exchange_ || abort_reason_) return false;
    if (seq != kDirect && seq != exchange_seq_) return false;  // a leg that lost: stop it
    exchange_bytes_ += chunk.size();
    if (mode_ == BodyMode::buffer || mode_ == BodyMode::stream) {
      // The limit is on the body the user accepts; a rejected body never fails the attempt.
      const auto& limit = max_body_bytes_;
      if (limit && base_ + exchange_bytes_ > *limit) {
        abort_reason_ = ErrorKind::body_too_large;
        abort_message_ = fmt::format("the body exceeds the limit of {} bytes", *limit);
        return false;
      }
    } else if (exchange_bytes_ > std::max(kDrainBytes, core_.options.error_body_limit)) {
      // Past the drain bound: keep what the error body limit still wants of this chunk, then stop.
      if (mode_ == BodyMode::keep_excerpt) keep_error_body(chunk);
      drain_stopped_ = true;
      return false;
    }
    switch (mode_) {
      case BodyMode::buffer:
        body_.append(chunk);
        sink_bytes_ += chunk.size();
        break;
      case BodyMode::stream:
        committed_ = true;
        bytes_delivered_ += chunk.size();
        sink_bytes_ += chunk.size();
        enqueue([this, data = std::string(chunk)] { callbacks_.on_chunk(data); });
        delivered = true;
        break;
      case BodyMode::keep_excerpt:
        keep_error_body(chunk);
        break;
      case BodyMode::discard:
        break;
    }
  }
  if (delivered) flush(Defer::no);
  return true;
}

bool FetchOperation::can_resume_locked() const {
  // A request with its own Range asked for a part of the resource itself: not ours to continue.
  return core_.options.resume && resume_validator_ && sink_bytes_ > 0 && request_.method == "GET" &&
         !request_.headers.contains("Range");
}

// An accepted head: whether it continues what this attempt asked for, and what it offers the next.
void FetchOperation::judge_resumed_head_locked() {
  if (!asked_from_) {
    resume_validator_ = core_.options.resume ? resume_validator(head_.headers) : std::nullopt;
    return;
  }
  if (head_.status == 206) {
    const auto start = content_range_start(head_.headers);
    if (start != asked_from_) {
      abort_reason_ = ErrorKind::connection_reset;
      abort_message_ = fmt::format("invalid response: a 206 to a Range request from byte {} has Content-Range '{}'",
                                   *asked_from_, head_.headers.get("Content-Range").value_or(""));
      resume_validator_.reset();  // the next attempt starts over
      return;
    }
    base_ = *asked_from_;
    if (!streams_) body_ = std::move(resumed_body_);
    resumed_body_.clear();
    return;
  }
  // A 200: the resource changed since the validator, and this is all of the new one.
  resume_validator_ = core_.options.resume ? resume_validator(head_.headers) : std::nullopt;
  resumed_body_.clear();
  if (!streams_) {
    sink_bytes_ = 0;
  } else if (sink_bytes_ > 0) {
    if (rewinds_) {
      committed_ = false;
      sink_bytes_ = 0;
      enqueue([this] { callbacks_.on_rewind(); });
    } else {
      resource_changed_ = true;
      abort_reason_ = ErrorKind::connection_reset;
      abort_message_ = fmt::format("the resource changed (a 200 answered the Range request) after {} bytes "
                                   "reached a sink that cannot rewind",
                                   sink_bytes_);
    }
  }
}

void FetchOperation::keep_error_body(std::string_view chunk) {
  const auto limit = core_.options.error_body_limit;
  if (body_.size() < limit) body_.append(chunk.substr(0, static_cast<std::size_t>(limit - body_.size())));
}

void FetchOperation::on_complete(ExchangeResult result) { exchange_ended(kDirect, std::move(result)); }

void FetchOperation::exchange_ended(std::uint64_t seq, ExchangeResult&& result) noexcept {
  try {
    complete_exchange(seq, std::move(result));
  } catch (...) {
    fail_internal(std::current_exception());
  }
}

void FetchOperation::complete_exchange(std::uint64_t seq, ExchangeResult&& result) {
  GateGuard gate(*gate_);
  if (!gate.open()) return;
  std::shared_ptr<Exchange> finished;  // released after the lock
  std::unique_lock lock(mutex_);
  --exchanges_outstanding_;
  if (decided_) {
    // Decided while the transport still worked (a cancel, the deadline): now that its exchange
    // is over, the admission slot may go to the next fetch.
    if (seq != kDirect) drop_leg_locked(seq);
    settle_pending_.store(true, std::memory_order_relaxed);
    lock.unlock();
    settle();
    return;
  }
  if (seq != kDirect && !(in_exchange_ && seq == exchange_seq_)) {
    // A leg racing the current exchange, or one that lost (recorded then: nothing to do).
    if (!find_leg_locked(seq)) return;
    // Racing legs have no head: the first head ends the race, won or lost.
    const ErrorKind kind = result.error.value_or(ErrorKind::internal_error);
    std::string message =
        result.error ? std::move(result.message) : std::string("the transport ended the exchange without a response");
    leg_lost(lock, seq, kind, std::move(message), std::nullopt, Headers{}, false);
    return;
  }
  if (!in_exchange_) return;
  if (seq != kDirect) drop_leg_locked(seq);
  in_exchange_ = false;
  finished = std::move(exchange_);
  const std::optional<int> status = have_head_ ? std::optional<int>{head_.status} : std::nullopt;

  body_cut_ = result.error.has_value();  // judged by its head alone, a rejected body may be cut short
  timings_ = result.timings;
  if (abort_reason_) {
    attempt_failed(lock, *abort_reason_, std::move(abort_message_), status);
  } else if (result.error && !head_outweighs(*result.error)) {
    ErrorKind kind = *result.error;
    // The transport saw one deadline; which clock set it decides what the user is told.
    if (kind == ErrorKind::attempt_timeout && deadline_ && *deadline_ <= attempt_deadline_) {
      kind = ErrorKind::deadline_exceeded;
    }
    attempt_failed(lock, kind, std::move(result.message), status);
  } else if (!have_head_) {
    attempt_failed(lock, ErrorKind::internal_error, "the transport ended the exchange without a response",
                   std::nullopt);
  } else if (mode_ == BodyMode::discard) {
    handle_redirect(lock);
  } else if (auto mismatch = body_mismatch(Framing{expected_length_, {}}, exchange_bytes_)) {
    attempt_failed(lock, ErrorKind::connection_reset, std::move(*mismatch), status);
  } else if (mode_ == BodyMode::buffer || mode_ == BodyMode::stream) {
    decide_success();
    lock.unlock();
    flush(Defer::no);
  } else {
    std::string message = fmt::format("HTTP {}", head_.status);
    if (const auto line = excerpt(body_); !line.empty()) message += fmt::format(": {}", line);
    attempt_failed(lock, ErrorKind::http_status, std::move(message), status);
  }
}

// A rejected or redirect response is judged by its head: its unwanted body being cut, or stopped
// by us past the drain bound, changes nothing. A cancel by the transport still ends the attempt,
// and a redirect is followed only when its body merely broke off.
bool FetchOperation::head_outweighs(ErrorKind error) const {
  if (!have_head_ || (mode_ != BodyMode::discard && mode_ != BodyMode::keep_excerpt)) return false;
  if (drain_stopped_) return true;
  if (error == ErrorKind::cancelled) return false;
  return mode_ == BodyMode::keep_excerpt || error == ErrorKind::connection_reset;
}

void FetchOperation::handle_redirect(std::unique_lock<std::mutex>& lock) {
  const int status = head_.status;
  const std::string location(*head_.headers.get("Location"));
  if (redirects_ >= core_.options.max_redirects) {
    auto& record = current_record();
    record.elapsed = core_.options.scheduler->now() - record.start;
    record.status = status;
    record.error = ErrorKind::too_many_redirects;
    decide_failure(ErrorKind::too_many_redirects, GiveUpReason::not_retryable,
                   fmt::format("stopped after {} redirects (the limit)", redirects_), status);
    lock.unlock();
    flush(Defer::no);
    return;
  }
  const Request& from = hop_request_ ? *hop_request_ : request_;
  const Url::ParseResult base = hop_url_ ? Url::ParseResult{*hop_url_} : Url::parse(request_.url);
  auto next = base->resolve(location);
  if (!next) {
    auto& record = current_record();
    record.elapsed = core_.options.scheduler->now() - record.start;
    record.status = status;
    decide_failure(ErrorKind::http_status, GiveUpReason::not_retryable,
                   fmt::format("HTTP {}: refused to follow the redirect: {}", status, next.error()), status);
    lock.unlock();
    flush(Defer::no);
    return;
  }
  Request hop = from;
  hop.url = next->str();
  // 303 turns anything but HEAD into GET; 301/302 turn POST into GET (as browsers and curl do).
  if ((status == 303 && hop.method != "HEAD") || ((status == 301 || status == 302) && hop.method == "POST")) {
    hop.method = "GET";
    hop.body.clear();
    hop.headers.remove("Content-Type");
    hop.headers.remove("Content-Length");
  }
  if (!base->same_origin(*next)) {
    // Credentials are for the origin they were given to.
    hop.headers.remove("Authorization");
    hop.headers.remove("Proxy-Authorization");
    hop.headers.remove("Cookie");
    // A Host the user set names the first origin; sent to another, it would misroute the request
    // (and let a redirect choose which virtual host of the new server sees it).
    hop.headers.remove("Host");
  }
  hop_request_ = std::move(hop);
  hop_url_ = *next;
  ++redirects_;
  lock.unlock();
  launch_exchange();
}

void FetchOperation::attempt_failed(std::unique_lock<std::mutex>& lock, ErrorKind kind, std::string message,
                                    std::optional<int> status) {
  if (hedging_ && racing_locked() && kind != ErrorKind::deadline_exceeded && kind != ErrorKind::cancelled) {
    // Another leg of the race still runs: this failure does not end the attempt.
    leg_lost(lock, exchange_seq_, kind, std::move(message), status, Headers{}, false);
    return;
  }
  TimerId hedge_timer = hedging_ ? close_race_locked() : 0;
  const TimePoint now = core_.options.scheduler->now();
  auto& record = current_record();
  record.elapsed = now - record.start;
  record.status = status;
  if (kind != ErrorKind::http_status) record.error = kind;
  // A note left while the attempt ran (a hedge the budget refused) stays after the outcome.
  record.message = record.message.empty() ? message : fmt::format("{}; {}", message, record.message);
  const int attempt = attempt_;
  const int redirects = redirects_;

  if (kind == ErrorKind::deadline_exceeded) {
    end_breaker_attempt_locked(AttemptOutcome::failure);
    decide_failure(kind, GiveUpReason::deadline, std::move(message), status);
  } else if (kind == ErrorKind::cancelled) {
    // The transport gave up on its own (for example it is shutting down): not the caller's cancel,
    // but nothing the pipeline could retry either.
    decide_failure(kind, GiveUpReason::cancelled, std::move(message), status);
  } else {
    const bool may_retry = !resource_changed_ && (!committed_ || rewinds_ || can_resume_locked());
    lock.unlock();
    if (hedge_timer != 0) core_.options.scheduler->cancel(std::exchange(hedge_timer, 0));
    const Verdict verdict = consult_policies(kind, status, may_retry, attempt, redirects);
    lock.lock();
    // The breaker counts what the retry policy would retry as the origin's failure.
    end_breaker_attempt_locked(verdict.decision.retry || verdict.decision.reason != GiveUpReason::not_retryable
                                   ? AttemptOutcome::failure
                                   : AttemptOutcome::success);
    if (decided_) {
      // Cancelled (or ended by the deadline) while the policies ran: that outcome stands.
    } else if (verdict.budget_refused) {
      core_.budget_refusals.fetch_add(1, std::memory_order_relaxed);
      decide_failure(kind, GiveUpReason::budget_exhausted,
                     fmt::format("{}; not retried: the retry budget of {} is spent", message, origin_.view()), status);
    } else if (!verdict.decision.retry) {
      decide_failure(kind, verdict.decision.reason, std::move(message), status);
    } else if (resource_changed_) {
      decide_failure(kind, GiveUpReason::committed, std::move(message), status);
    } else if (!may_retry) {
      decide_failure(kind, GiveUpReason::committed,
                     fmt::format("{}; not retried: {} body bytes already reached a sink that cannot rewind",
                                 message, bytes_delivered_),
                     status);
    } else if (const TimePoint at = later(now, verdict.delay); deadline_ && at >= *deadline_) {
      decide_failure(kind, GiveUpReason::deadline,
                     fmt::format("{}; not retried: the next wait ({} ms) would end past the deadline", message,
                                 std::chrono::duration_cast<std::chrono::milliseconds>(verdict.delay).count()),
                     status);
    } else {
      current_record().backoff = verdict.delay;
      enqueue_attempt_report();
      if (auto& events = core_.options.events) {
        enqueue([events, e = RetryScheduled{id_, attempt_ + 1, origin_.view(), verdict.delay, status,
                                            kind == ErrorKind::http_status ? std::nullopt : std::optional{kind}, now}] {
          events->on_retry_scheduled(e);
        });
      }
      schedule_retry(lock, at);
    }
  }
  lock.unlock();
  if (hedge_timer != 0) core_.options.scheduler->cancel(hedge_timer);
  flush(Defer::no);
}

// Only the path that ends an attempt calls this, and an attempt ends once: the per-fetch policy
// clones are never used by two threads at a time, so they need no lock.
FetchOperation::Verdict FetchOperation::consult_policies(ErrorKind kind, std::optional<int> status, bool may_retry,
                                                         int attempt, int redirects) {
  // Legs of a hedging fetch may end on two threads at once; otherwise only one path asks.
  std::unique_lock policy_lock(policy_mutex_, std::defer_lock);
  if (hedging_) policy_lock.lock();
  if (!retry_policy_) retry_policy_ = retry_prototype_->clone();
  RetryContext context;
  context.request = &request_;
  context.attempt = attempt;
  context.redirects = redirects;
  context.max_attempts = request_.overrides.max_attempts;
  // Exactly one of error and status: a response the client rejected is judged by its status.
  if (kind == ErrorKind::http_status) {
    context.status = status;
    context.response_headers = &head_.headers;
  } else {
    context.error = kind;
  }
  context.system_now = core_.options.scheduler->system_now();
  Verdict verdict{retry_policy_->decide(context)};
  if (verdict.decision.retry && context.max_attempts && attempt >= *context.max_attempts) {
    verdict.decision = RetryDecision::stop(GiveUpReason::attempts_exhausted);  // the request's limit holds
  }
  if (verdict.decision.retry && may_retry) {
    if (verdict.decision.server_delay) {
      verdict.delay = *verdict.decision.server_delay;
    } else {
      if (!backoff_policy_) backoff_policy_ = backoff_prototype_->clone();
      verdict.delay = backoff_policy_->next_delay(attempt);
    }
    verdict.delay = bounded(verdict.delay);
    // The budget pays only for a retry that will happen: a wait past the deadline ends the fetch
    // anyway (deadline_ is written once, before any attempt, so it is read here without the lock).
    const TimePoint now = core_.options.scheduler->now();
    if (!(deadline_ && later(now, verdict.delay) >= *deadline_) &&
        !core_.options.retry_budget->try_spend(origin_.view(), now)) {
      verdict.budget_refused = true;
    }
  }
  return verdict;
}

void FetchOperation::schedule_retry(std::unique_lock<std::mutex>& lock, TimePoint at) {
  awaiting_retry_ = true;
  const int attempt = attempt_;
  lock.unlock();
  // A scheduler may run a due timer inside schedule_task(): retry_now() then takes the lock itself.
  const TimerId timer = core_.options.scheduler->schedule_task(at, [self = shared_from_this()] { self->retry_now(); });
  lock.lock();
  if (decided_) {
    lock.unlock();
    if (timer != 0) core_.options.scheduler->cancel(timer);  // cancel() came before we could store it
    lock.lock();
  } else if (awaiting_retry_ && attempt_ == attempt) {
    backoff_timer_ = timer;  // not yet fired: cancel() will find it here
  }
}

// The overall deadline has a timer of its own, so a fetch ends at its deadline even when the
// transport never reports (a name lookup that blocks, a transport that ignores the spec).
void FetchOperation::arm_deadline() {
  TimePoint at{};
  {
    std::lock_guard lock(mutex_);
    if (!deadline_ || decided_) return;
    at = *deadline_;
  }
  const TimerId timer = core_.options.scheduler->schedule_task(at, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->deadline_passed();
  });
  bool stale = false;
  {
    std::lock_guard lock(mutex_);
    if (decided_) stale = true;
    else deadline_timer_ = timer;
  }
  if (stale && timer != 0) core_.options.scheduler->cancel(timer);
}

void FetchOperation::deadline_passed() {
  GateGuard gate(*gate_);
  if (!gate.open()) return;
  std::shared_ptr<Exchange> exchange;
  TimerId backoff = 0;
  TimerId hedge_timer = 0;
  {
    std::lock_guard lock(mutex_);
    if (decided_) return;
    deadline_timer_ = 0;
    const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(*timeouts_.overall);
    std::string message = fmt::format("the deadline of {} ms passed", limit.count());
    std::optional<int> status;
    if (records_.empty()) {
      message += slot_ == Slot::queued ? " while the fetch waited for a slot of its origin"
                                       : " before the first attempt could start";
    } else {
      auto& record = current_record();
      if (in_exchange_) {
        record.elapsed = core_.options.scheduler->now() - record.start;
        record.error = ErrorKind::deadline_exceeded;
        record.message = message;
        if (have_head_) record.status = head_.status;
        in_exchange_ = false;  // the transport's late report is ignored
        end_breaker_attempt_locked(AttemptOutcome::failure);
      }
      status = record.status;
    }
    exchange = std::move(exchange_);
    backoff = backoff_timer_;
    backoff_timer_ = 0;
    awaiting_retry_ = false;
    hedge_timer = std::exchange(hedge_timer_, 0);
    decide_failure(ErrorKind::deadline_exceeded, GiveUpReason::deadline, std::move(message), status);
  }
  if (backoff != 0) core_.options.scheduler->cancel(backoff);
  if (hedge_timer != 0) core_.options.scheduler->cancel(hedge_timer);
  if (exchange) exchange->cancel();
  flush(Defer::no);
}

void FetchOperation::retry_now() {
  try {
    start_retry();
  } catch (...) {
    fail_internal(std::current_exception());
  }
}

void FetchOperation::fail_internal(std::exception_ptr error) noexcept {
  try {
    GateGuard gate(*gate_);
    if (!gate.open()) return;  // shutdown decides and delivers everything itself
    {
      std::lock_guard lock(mutex_);
      if (!decided_) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        in_exchange_ = false;
        backoff_timer_ = 0;
        decide_failure(ErrorKind::internal_error, GiveUpReason::not_retryable,
                       fmt::format("the pipeline failed: {}", what), std::nullopt);
      }
    }
    flush(Defer::yes);  // also delivers a decision whose flush was the part that failed
  } catch (...) {
    // Failing again while reporting the first failure (memory still exhausted): nothing safe is
    // left to do here; the client's destructor still delivers what was decided.
  }
}

void FetchOperation::start_retry() {
  GateGuard gate(*gate_);
  if (!gate.open()) return;
  {
    std::lock_guard lock(mutex_);
    if (decided_) return;
    backoff_timer_ = 0;
    awaiting_retry_ = false;
  }
  start_attempt();
}

std::string FetchOperation::describe(std::string_view detail) const {
  const auto n = records_.size();
  if (n == 0) return fmt::format("{} {}: {}", request_.method, request_.url, detail);
  return fmt::format("{} {}: {} ({} attempt{})", request_.method, request_.url, detail, n, n == 1 ? "" : "s");
}

void FetchOperation::enqueue_attempt_report() {
  if (records_.empty()) return;
  enqueue_attempt_report(current_);
}

void FetchOperation::enqueue_attempt_report(std::size_t index) {
  if (auto& events = core_.options.events) {
    const AttemptRecord& r = records_[index];
    enqueue([events, e = AttemptEnded{id_, r.number, origin_.view(), r.status, r.error, r.elapsed,
                                      r.start + r.elapsed}] { events->on_attempt_ended(e); });
  }
  if (!reports_attempts_) return;
  enqueue([this, record = records_[index]] { callbacks_.on_attempt(record); });
}

void FetchOperation::enqueue_fetch_ended(FetchOutcome outcome, GiveUpReason reason, std::optional<ErrorKind> error,
                                         std::optional<int> status) {
  // Every decision passes here: the breaker's verdict on an attempt nobody judged, and the
  // admission slot, are settled once the lock is released.
  end_breaker_attempt_locked(AttemptOutcome::abandoned);
  if (slot_ == Slot::holding && exchanges_outstanding_ == 0) {
    // The usual end (the transport is done): the slot is given back at the next settle() without
    // its taking the lock again to find out.
    slot_ = Slot::released;
    give_back_slot_.store(true, std::memory_order_release);
  } else if (slot_ == Slot::holding || slot_ == Slot::queued) {
    settle_pending_.store(true, std::memory_order_relaxed);
  }
  if (hedging_) {
    // Legs still racing the current exchange end with the fetch; settle() cancels them.
    const bool deadline = reason == GiveUpReason::deadline && error == ErrorKind::deadline_exceeded;
    end_racing_legs_locked(deadline ? ErrorKind::deadline_exceeded : ErrorKind::cancelled,
                           deadline ? "the deadline passed" : "cancelled: the fetch ended", stopping_);
    race_open_ = false;
    if (!stopping_.empty()) settle_pending_.store(true, std::memory_order_relaxed);
  }
  auto& events = core_.options.events;
  if (!events) return;
  const TimePoint now = core_.options.scheduler->now();
  enqueue([events, e = FetchEnded{id_, origin_.view(), outcome, reason, error, status,
                                  static_cast<int>(records_.size()), now - started_at_, now}] {
    events->on_fetch_ended(e);
  });
}

void FetchOperation::decide_success() {
  auto& record = current_record();
  record.elapsed = core_.options.scheduler->now() - record.start;
  record.status = head_.status;
  enqueue_attempt_report();
  Response response;
  response.status = head_.status;
  response.headers = std::move(head_.headers);
  response.body = std::move(body_);
  response.final_url = hop_request_ ? hop_request_->url : request_.url;
  response.body_bytes = exchange_bytes_;
  response.http_version = std::move(head_.http_version);
  response.timings = timings_;
  end_breaker_attempt_locked(AttemptOutcome::success);
  enqueue_fetch_ended(FetchOutcome::success, GiveUpReason::none, std::nullopt, response.status);
  response.attempts = std::move(records_);  // decided: the operation needs its records no more
  final_response_ = std::move(response);
  queue_terminal(Terminal::success);
  decided_ = true;
  core_.succeeded.fetch_add(1, std::memory_order_relaxed);
}

void FetchOperation::decide_failure(ErrorKind kind, GiveUpReason reason, std::string message,
                                    std::optional<int> status) {
  enqueue_attempt_report();
  if (auto& events = core_.options.events; events && reason == GiveUpReason::budget_exhausted) {
    enqueue([events, e = BudgetRefused{id_, origin_.view(), core_.options.scheduler->now()}] {
      events->on_budget_refused(e);
    });
  }
  enqueue_fetch_ended(FetchOutcome::failure, reason, kind, status);
  Error error;
  error.kind = kind;
  error.message = describe(message);
  error.status = status;
  error.reason = reason;
  error.attempts = std::move(records_);
  error.bytes_delivered = bytes_delivered_;
  if (have_head_) {
    // The last attempt's response; the fetch is decided, so its head and body are ours to give.
    ErrorResponse response;
    response.status = head_.status;
    response.headers = std::move(head_.headers);
    response.final_url = hop_request_ ? hop_request_->url : request_.url;
    if (mode_ == BodyMode::keep_excerpt) response.body = std::move(body_);
    response.body_truncated = mode_ != BodyMode::keep_excerpt || drain_stopped_ || body_cut_ ||
                              exchange_bytes_ > response.body.size();
    error.response = std::move(response);
  }
  final_error_ = std::move(error);
  queue_terminal(Terminal::failure);
  decided_ = true;
  core_.failed.fetch_add(1, std::memory_order_relaxed);
}

void FetchOperation::decide_cancelled(std::string_view message) {
  std::optional<int> status;
  if (!records_.empty()) {
    auto& record = current_record();
    if (in_exchange_) {
      record.elapsed = core_.options.scheduler->now() - record.start;
      record.error = ErrorKind::cancelled;
      record.message = message;
      if (have_head_) record.status = head_.status;
    }
    status = record.status;
  }
  enqueue_fetch_ended(FetchOutcome::cancelled, GiveUpReason::cancelled, ErrorKind::cancelled, status);
  Error error;
  error.kind = ErrorKind::cancelled;
  error.message = describe(message);
  error.status = status;
  error.reason = GiveUpReason::cancelled;
  error.attempts = std::move(records_);
  error.bytes_delivered = bytes_delivered_;
  final_error_ = std::move(error);
  queue_terminal(Terminal::cancel);
  decided_ = true;
  core_.cancelled.fetch_add(1, std::memory_order_relaxed);
}

bool FetchOperation::cancel() {
  GateGuard gate(*gate_);
  if (!gate.open()) return false;  // the client is shutting down and cancels everything itself
  std::shared_ptr<Exchange> exchange;
  TimerId timer = 0;
  TimerId hedge_timer = 0;
  {
    std::lock_guard lock(mutex_);
    if (decided_) return false;
    decide_cancelled("cancelled by the caller");
    exchange = exchange_;
    timer = backoff_timer_;
    hedge_timer = std::exchange(hedge_timer_, 0);
  }
  if (timer != 0) core_.options.scheduler->cancel(timer);
  if (hedge_timer != 0) core_.options.scheduler->cancel(hedge_timer);
  if (exchange) exchange->cancel();
  flush(Defer::yes);
  return true;
}

void FetchOperation::cancel_for_shutdown() {
  std::shared_ptr<Exchange> exchange;
  std::vector<std::shared_ptr<Exchange>> racing;
  TimerId timer = 0;
  TimerId hedge_timer = 0;
  {
    std::lock_guard lock(mutex_);
    if (!decided_) decide_cancelled("cancelled: the client was destroyed");
    exchange = std::move(exchange_);
    racing.swap(stopping_);
    timer = backoff_timer_;
    backoff_timer_ = 0;
    hedge_timer = std::exchange(hedge_timer_, 0);
  }
  if (timer != 0) core_.options.scheduler->cancel(timer);
  if (hedge_timer != 0) core_.options.scheduler->cancel(hedge_timer);
  if (exchange) exchange->cancel();
  for (auto& leg : racing) leg->cancel();
}

// ---- delivery queue -------------------------------------------------------------------------

void FetchOperation::enqueue(std::function<void()> task) {
  std::lock_guard lock(queue_mutex_);
  queue_.push_back(std::move(task));
}

// The terminal outcome is kept in members rather than queued as a task: no allocation, and it
// always runs after every queued task.
void FetchOperation::queue_terminal(Terminal kind) noexcept {
  std::lock_guard lock(queue_mutex_);
  terminal_ = kind;
}

void FetchOperation::run_terminal() noexcept {
  try {
    switch (terminal_) {
      case Terminal::success:
        if (callbacks_.on_success) callbacks_.on_success(std::move(*final_response_));
        break;
      case Terminal::failure:
        if (callbacks_.on_failure) callbacks_.on_failure(std::move(*final_error_));
        break;
      case Terminal::cancel:
        if (callbacks_.on_cancel) callbacks_.on_cancel(std::move(*final_error_));
        break;
      case Terminal::none:
        break;
    }
  } catch (...) {
    core_.report_exception(std::current_exception());
  }
  final_response_.reset();
  final_error_.reset();
  finish_terminal();
}

void FetchOperation::flush(Defer defer) {
  settle();
  {
    std::lock_guard lock(queue_mutex_);
    if (!has_work_locked() || drain_posted_ || draining_) return;
    drain_posted_ = true;
  }
  if ((defer == Defer::yes || t_api_depth > 0) && core_.options.callback_executor->runs_inline()) {
    // An inline executor would run the callback inside fetch() or cancel(): go through a timer.
    auto& scheduler = *core_.options.scheduler;
    scheduler.schedule_task(scheduler.now(), [self = shared_from_this()] {
      GateGuard gate(*self->gate_);
      if (gate.open()) self->post_drain();
    });
    return;
  }
  post_drain();
}

bool FetchOperation::has_work_locked() const noexcept {
  return queue_head_ < queue_.size() || (terminal_ != Terminal::none && !terminal_ran_);
}

void FetchOperation::post_drain() {
  if (core_.options.callback_executor->runs_inline()) {
    drain();  // what posting would do at once, without wrapping a task
    return;
  }
  try {
    core_.options.callback_executor->post([self = shared_from_this()] { self->drain(); });
  } catch (...) {
    // The executor refused the work. The contract still owes the user its callbacks: run them
    // here rather than lose them, and tell the hook.
    core_.report_exception(std::current_exception());
    drain();
  }
}

void FetchOperation::drain() {
  std::unique_lock lock(queue_mutex_);
  drain_posted_ = false;
  if (draining_) return;  // someone else is draining and will run what is queued
  drain_locked(lock);
}

void FetchOperation::drain_here() {
  std::unique_lock lock(queue_mutex_);
  if (draining_ && drain_thread_ == std::this_thread::get_id()) return;  // from inside a callback
  queue_idle_.wait(lock, [&] { return !draining_; });
  drain_locked(lock);
}

void FetchOperation::drain_locked(std::unique_lock<std::mutex>& lock) {
  draining_ = true;
  drain_thread_ = std::this_thread::get_id();
  for (;;) {
    if (queue_head_ < queue_.size()) {
      auto task = std::move(queue_[queue_head_++]);
      if (queue_head_ == queue_.size()) {
        queue_.clear();  // keeps the capacity for the next chunks
        queue_head_ = 0;
      }
      lock.unlock();
      run_task(task);
      task = nullptr;
      lock.lock();
    } else if (terminal_ != Terminal::none && !terminal_ran_) {
      terminal_ran_ = true;
      lock.unlock();
      run_terminal();
      lock.lock();
    } else {
      break;
    }
  }
  draining_ = false;
  drain_thread_ = {};
  queue_idle_.notify_all();
}

void FetchOperation::run_task(std::function<void()>& task) noexcept {
  try {
    task();
  } catch (...) {
    core_.report_exception(std::current_exception());
  }
}

void FetchOperation::finish_terminal() noexcept {
  callbacks_ = Callbacks{};  // free the user's captures now, not when the last handle goes
  TimerId deadline_timer = 0;
  TimerId hedge_timer = 0;
  {
    std::lock_guard lock(mutex_);
    deadline_timer = std::exchange(deadline_timer_, 0);
    hedge_timer = std::exchange(hedge_timer_, 0);
  }
  if (deadline_timer != 0) core_.options.scheduler->cancel(deadline_timer);
  if (hedge_timer != 0) core_.options.scheduler->cancel(hedge_timer);
  settle(gate_->closing());  // a fetch decided by the client's shutdown gives its slot back here
  core_.remove(this);        // last use of the core: the client may be gone right after
}

}  // namespace fetchpipe::detail
