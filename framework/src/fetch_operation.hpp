// One fetch in flight: the state machine behind Client::fetch. Private to the framework.
//
// Every event — an exchange's head, body and end from the transport thread, a backoff timer, a
// cancel from any thread, the client's shutdown — takes `mutex_` and first checks `decided_`.
// The first event to set `decided_` owns the outcome; every later one is a no-op. That one
// transition is what makes "exactly one terminal callback" hold under every race.
//
// User callbacks never run under `mutex_`: they are queued on a per-operation delivery queue,
// drained by one executor task at a time (so they never overlap and keep their order). Nor does
// any other user code: the retry and backoff policies and the scheduler's schedule_task() are
// called with `mutex_` released, so a policy may cancel its own fetch and a scheduler may run a
// due timer inside schedule_task(); the state is checked again once the lock is back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "admission_gate.hpp"
#include "client_core.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/url.hpp"
#include "origin_key.hpp"

namespace fetchpipe::detail {

// Marks this thread as inside Client::fetch or FetchHandle::cancel for the scope.
class ApiCallScope {
 public:
  ApiCallScope() noexcept;
  ~ApiCallScope();
  ApiCallScope(const ApiCallScope&) = delete;
  ApiCallScope& operator=(const ApiCallScope&) = delete;
};

class FetchOperation final : public ExchangeObserver,
                             public AdmissionWaiter,
                             public std::enable_shared_from_this<FetchOperation> {
 public:
  FetchOperation(ClientCore& core, Request request, Callbacks callbacks);
  ~FetchOperation() override;

  // Called once by Client::fetch, after the handle exists.
  void begin(std::optional<std::stop_token> stop);
  // FetchHandle::cancel and stop_token: true when this call decided the outcome.
  bool cancel();
  [[nodiscard]] bool decided() const;

  // Client shutdown, step 1: decide as cancelled (if still undecided) without posting anywhere.
  void cancel_for_shutdown();
  // Client shutdown, step 2: run whatever is queued for the user on this thread, waiting for a
  // drain in progress on another thread to finish first.
  void drain_here();

  // ExchangeObserver: the exchange of a fetch that does not hedge. A hedging fetch gives each
  // exchange a LegObserver, which calls the same steps with the exchange's number.
  void on_head(ResponseHead head) override;
  bool on_body(std::string_view chunk) override;
  void on_complete(ExchangeResult result) override;

  // AdmissionWaiter: a slot of the origin is ours now.
  void admitted() override;
  std::shared_ptr<AdmissionWaiter> waiting_reference() override { return shared_from_this(); }

  // Intrusive list links, owned by ClientCore under its mutex.
  FetchOperation* prev_ = nullptr;
  FetchOperation* next_ = nullptr;
  std::shared_ptr<FetchOperation> self_;  // keeps the operation alive until its terminal callback

 private:
  enum class BodyMode { buffer, stream, keep_excerpt, discard };
  class LegObserver;
  static constexpr std::uint64_t kDirect = 0;  // the exchange's observer is the operation itself
  enum class Defer { no, yes };  // "yes" inside fetch() / cancel(): never run callbacks inline

  struct StopCancel {
    std::weak_ptr<FetchOperation> op;
    void operator()() const noexcept;
  };

  // begin(), on_complete() and retry_now() run their steps through these; an exception (memory
  // exhausted, say) thrown by a step becomes a failure of kind internal_error instead of escaping
  // into fetch(), a transport thread or the timer thread and leaving the fetch undecided.
  void begin_locked_steps(std::optional<std::stop_token> stop);
  void complete_exchange(ExchangeResult result);
  void start_retry();
  void fail_internal(std::exception_ptr error) noexcept;

  // Admission, then the first attempt. The gate must be held, `mutex_` not.
  void enter_admission();
  // Holds its origin's slot (or there is no concurrency limit): the rate stage. `took_slot`: the
  // slot was taken at once by enter_admission() and is recorded here (take_slot_locked).
  void after_slot(bool took_slot);
  void take_slot_locked(bool took_slot);  // under mutex_
  // Starts the next attempt (the first, or a retry): asks the circuit breaker, then launches.
  // The gate must be held, `mutex_` not.
  // `took_slot` as for after_slot(); `now` when the caller has just read the clock.
  void start_attempt(bool took_slot = false, std::optional<TimePoint> now = std::nullopt);
  // Work for shared components that must run outside `mutex_` once something was decided under
  // it: the breaker's report of the attempt that ended, the admission slot to give back.
  void settle(bool shutting_down = false);
  // Under `mutex_`: the admitted attempt ended with `outcome` (once per attempt; later calls are no-ops).
  void end_breaker_attempt_locked(AttemptOutcome outcome);
  void prepare_attempt_locked();
  // Starts the current exchange. `opens_race`: it is the attempt's first exchange, which hedges
  // may race (not a redirect's next hop).
  void launch_exchange(bool opens_race = false);
  void reset_exchange_state_locked();
  // The steps of the observer calls; `seq` names the exchange (kDirect: the only one).
  void head_arrived(std::uint64_t seq, ResponseHead&& head);
  bool body_arrived(std::uint64_t seq, std::string_view chunk);
  void complete_exchange(std::uint64_t seq, ExchangeResult&& result);
  // Under `mutex_`: the current exchange's head, judged; returns the exchange to stop, if any.
  std::shared_ptr<Exchange> take_head_locked(ResponseHead&& head, bool redirect, bool accepted);

  // ---- Hedging (hedging_policy.hpp): only when hedging_ is set. ----
  // Each exchange of a hedging fetch is a leg. The current exchange (exchange_seq_) is the one the
  // rest of the operation knows; the others race it until one has a head. The first accepted
  // head (or redirect) wins: it becomes the current exchange and the others are cancelled. A leg
  // that fails before that while another runs is recorded and dropped; when the retry policy
  // would retry its outcome, the next hedge starts at once.
  struct Leg {
    std::uint64_t seq = 0;
    std::size_t record = 0;                // its attempt in records_
    TimePoint deadline{};
    std::shared_ptr<Exchange> exchange;    // null until start() returned
  };
  // Under `mutex_`: start() returned `exchange` for exchange `seq`. Stores it where it belongs;
  // true when it must be cancelled instead (the fetch is decided, or the leg lost meanwhile).
  [[nodiscard]] bool store_started_locked(std::uint64_t seq, const std::shared_ptr<Exchange>& exchange);
  void exchange_ended(std::uint64_t seq, ExchangeResult&& result) noexcept;
  [[nodiscard]] Leg* find_leg_locked(std::uint64_t seq);
  void drop_leg_locked(std::uint64_t seq);
  // Under `mutex_`: ends the race for a winner (`seq`, current or not): every other leg is
  // recorded as cancelled and its exchange added to `stop`.
  void crown_locked(std::uint64_t seq, std::vector<std::shared_ptr<Exchange>>& stop);
  void promote_locked(const Leg& leg);  // makes a racing leg the current exchange
  // A leg lost before any head won: record it, drop it, and start the next hedge now if the
  // retry policy would retry what it got. Called with `lock` held; releases it.
  void leg_lost(std::unique_lock<std::mutex>& lock, std::uint64_t seq, ErrorKind kind, std::string message,
                std::optional<int> status, Headers headers, bool still_running);
  // Every leg but the current one, recorded as ended with `kind` (the fetch is decided), their
  // exchanges moved into `stop`.
  void end_racing_legs_locked(ErrorKind kind, std::string_view message, std::vector<std::shared_ptr<Exchange>>& stop);
  [[nodiscard]] bool racing_locked() const;  // legs other than the current one run
  void arm_hedge_timer();
  void hedge_due(std::uint64_t race);
  void start_hedge(std::uint64_t race, std::chrono::nanoseconds after);
  [[nodiscard]] TimerId close_race_locked();  // returns the hedge timer to cancel
  // Whether the retry policy would retry this outcome of attempt number `attempt`.
  [[nodiscard]] bool retryable(ErrorKind kind, std::optional<int> status, const Headers* headers, int attempt);
  [[nodiscard]] bool may_hedge_locked() const;  // below the in-flight and attempt limits
  // Finishes the current attempt with a failure and either schedules the next or decides the
  // fetch. Called with `lock` held; releases it.
  void attempt_failed(std::unique_lock<std::mutex>& lock, ErrorKind kind, std::string message,
                      std::optional<int> status);
  void retry_now();
  // What the policies say of the failed attempt; runs user code, so never under `mutex_`.
  struct Verdict {
    RetryDecision decision;
    std::chrono::nanoseconds delay{0};  // the wait before the retry, when decision.retry
    bool budget_refused = false;        // the retry budget said no to that retry
  };
  // `attempt` and `redirects`: the ended attempt's number and redirects, read under `mutex_`.
  Verdict consult_policies(ErrorKind kind, std::optional<int> status, bool may_retry, int attempt, int redirects);
  // Plans the retry after `delay`: called with `lock` held; releases it around schedule_task().
  void schedule_retry(std::unique_lock<std::mutex>& lock, TimePoint at);
  void arm_deadline();
  void deadline_passed();
  // Decides the outcome and queues the terminal callback. `mutex_` must be held. Commits
  // (decided_, the counter) only once the terminal task is queued: a throw leaves it undecided.
  void decide_failure(ErrorKind kind, GiveUpReason reason, std::string message, std::optional<int> status);
  void decide_success();
  void decide_cancelled(std::string_view message);
  void handle_redirect(std::unique_lock<std::mutex>& lock);
  void keep_error_body(std::string_view chunk);  // `mutex_` held
  void judge_resumed_head_locked();
  // Whether the head that arrived, not the exchange's `error`, decides the attempt. `mutex_` held.
  [[nodiscard]] bool head_outweighs(ErrorKind error) const;
  void enqueue_attempt_report();
  void enqueue_attempt_report(std::size_t record);
  void enqueue_fetch_ended(FetchOutcome outcome, GiveUpReason reason, std::optional<ErrorKind> error,
                           std::optional<int> status);
  enum class Terminal { none, success, failure, cancel };
  void queue_terminal(Terminal kind) noexcept;
  void run_terminal() noexcept;
  [[nodiscard]] std::string describe(std::string_view detail) const;
  [[nodiscard]] AttemptRecord& current_record();

  // Delivery queue.
  void enqueue(std::function<void()> task);  // `mutex_` may be held; posts nothing itself
  void flush(Defer defer);                   // `mutex_` must NOT be held
  void post_drain();
  [[nodiscard]] bool has_work_locked() const noexcept;
  void drain();
  void drain_locked(std::unique_lock<std::mutex>& queue_lock);
  void run_task(std::function<void()>& task) noexcept;
  void finish_terminal() noexcept;  // last task: counts, unregisters, releases callbacks

  ClientCore& core_;                 // used only while holding the gate or before begin() returns
  std::shared_ptr<Gate> gate_;
  std::shared_ptr<const TlsOptions> tls_;  // what ExchangeSpec::tls points to, for as long as we live
  const Request request_;
  Callbacks callbacks_;              // touched only by delivery tasks
  const bool streams_;               // callbacks_.on_chunk is set
  const bool rewinds_;               // callbacks_.on_rewind is set
  const bool reports_attempts_;      // callbacks_.on_attempt is set
  const FetchId id_;
  // The client's configuration with the request's overrides applied.
  const Timeouts timeouts_;
  const std::optional<std::uint64_t> max_body_bytes_;
  const std::shared_ptr<RetryPolicy> retry_prototype_;
  const std::shared_ptr<BackoffPolicy> backoff_prototype_;
  const bool hedging_;               // a hedging policy is set and the request is idempotent
  OriginKey origin_;                 // the request URL's origin, once the request is valid
  TimePoint started_at_{};

  // Admission and breaker state, under `mutex_`.
  enum class Slot { none, queued, holding, released };
  Slot slot_ = Slot::none;
  AdmissionGate::OriginSlots* slot_entry_ = nullptr;  // the gate's entry of our origin, from acquire()
  TimePoint queued_at_{};
  bool breaker_admitted_ = false;  // the attempt in flight was admitted by the breaker
  bool breaker_probe_ = false;     // ... as the probe
  std::optional<AttemptOutcome> breaker_report_;  // to deliver in settle()
  bool breaker_report_probe_ = false;
  std::atomic<bool> settle_pending_{false};  // settle() has work; read without `mutex_`
  // The decision found the slot free to give back (no exchange outstanding): settle() releases it.
  std::atomic<bool> give_back_slot_{false};

  mutable std::mutex mutex_;
  bool decided_ = false;
  int attempt_ = 0;
  int redirects_ = 0;
  std::optional<TimePoint> deadline_;
  TimePoint attempt_deadline_{};
  std::vector<AttemptRecord> records_;
  std::size_t current_ = 0;      // records_ index of the current exchange's attempt
  std::unique_ptr<RetryPolicy> retry_policy_;
  std::unique_ptr<BackoffPolicy> backoff_policy_;
  TimerId backoff_timer_ = 0;
  bool awaiting_retry_ = false;  // a backoff wait is planned (its timer may not be stored yet)
  TimerId deadline_timer_ = 0;   // the overall deadline's own timer; cancelled when the fetch ends

  // The exchange in flight.
  std::optional<Request> hop_request_;  // set after a redirect; else request_ is sent
  std::optional<Url> hop_url_;
  std::shared_ptr<Exchange> exchange_;
  std::uint64_t exchange_seq_ = 0;  // the current exchange's number
  std::uint64_t seq_counter_ = 0;   // numbers handed out
  bool in_exchange_ = false;
  int exchanges_outstanding_ = 0;  // started and not yet completed by the transport
  ResponseHead head_;
  bool have_head_ = false;
  BodyMode mode_ = BodyMode::buffer;
  std::string body_;
  std::uint64_t exchange_bytes_ = 0;
  std::optional<ErrorKind> abort_reason_;  // why the pipeline stopped the exchange itself
  std::string abort_message_;              // and what to tell the user
  std::optional<std::uint64_t> expected_length_;  // an accepted response's Content-Length
  bool drain_stopped_ = false;  // a rejected body passed the drain bound: we stopped it
  bool body_cut_ = false;       // the exchange ended with an error after its head
  // Resuming (resume.hpp), under `mutex_`.
  [[nodiscard]] bool can_resume_locked() const;
  std::optional<std::string> resume_validator_;  // what the last accepted response offers
  std::uint64_t sink_bytes_ = 0;          // body bytes the sink holds (since the last rewind)
  std::optional<std::uint64_t> asked_from_;  // this attempt asked for the bytes from here on
  std::uint64_t base_ = 0;                // where this exchange's body starts in the resource
  std::string resumed_body_;              // buffering: the part kept while a resume is asked
  bool resource_changed_ = false;         // a 200 answered the Range request: cannot continue
  PhaseTimings timings_;                   // the last completed exchange's
  bool committed_ = false;                 // bytes reached on_chunk since the last rewind
  std::uint64_t bytes_delivered_ = 0;

  std::optional<std::stop_callback<StopCancel>> stop_callback_;

  // Hedging state, under `mutex_` (see Leg).
  std::vector<Leg> legs_;         // every leg whose exchange runs, the current one included
  bool race_open_ = false;        // the attempt has no head yet: hedges may still start
  std::uint64_t race_ = 0;        // the attempt's race: a timer of an earlier one does nothing
  TimerId hedge_timer_ = 0;
  TimePoint last_leg_start_{};
  int hedge_limit_ = 0;           // attempt number no hedge may exceed (0: no limit)
  int hedge_max_ = 0;             // legs in flight at once (the policy's max_in_flight)
  // A hedging fetch's legs may end on two threads at once: the per-fetch retry policy clone is
  // asked by one at a time.
  std::mutex policy_mutex_;
  std::vector<std::shared_ptr<Exchange>> stopping_;  // racing legs a decision ended: cancelled in settle()

  // Delivery queue state (own mutex: callbacks may call cancel(), which takes `mutex_`).
  std::mutex queue_mutex_;
  std::condition_variable queue_idle_;
  // A vector, not a deque: libstdc++'s deque allocates on construction, and most fetches queue
  // nothing but their terminal outcome (kept apart, below). Tasks before queue_head_ have run.
  std::vector<std::function<void()>> queue_;
  std::size_t queue_head_ = 0;
  Terminal terminal_ = Terminal::none;  // set once the outcome is decided
  bool terminal_ran_ = false;
  std::optional<Response> final_response_;  // written under mutex_ before terminal_ is set
  std::optional<Error> final_error_;
  bool drain_posted_ = false;
  bool draining_ = false;
  std::thread::id drain_thread_;
};

// The observer of one exchange of a hedging fetch: tells the operation which exchange speaks, and
// keeps the request the exchange sends alive for as long as the exchange runs (a cancelled
// loser may still be running when the fetch has moved on to another attempt).
class FetchOperation::LegObserver final : public ExchangeObserver {
 public:
  LegObserver(std::shared_ptr<FetchOperation> op, std::uint64_t seq, Request sent)
      : request(std::move(sent)), op_(std::move(op)), seq_(seq) {}
  void on_head(ResponseHead head) override { op_->head_arrived(seq_, std::move(head)); }
  bool on_body(std::string_view chunk) override { return op_->body_arrived(seq_, chunk); }
  void on_complete(ExchangeResult result) override { op_->exchange_ended(seq_, std::move(result)); }

  const Request request;

 private:
  std::shared_ptr<FetchOperation> op_;
  const std::uint64_t seq_;
};

}  // namespace fetchpipe::detail
