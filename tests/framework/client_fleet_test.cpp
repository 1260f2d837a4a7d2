// The fleet mechanisms through the Client, in virtual time: retry budget, circuit breaker,
// admission limits and events.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "fetchpipe/consecutive_failure_breaker.hpp"
#include "fetchpipe/token_retry_budget.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

constexpr const char* kDown = "http://down.test/x";
constexpr const char* kUp = "http://up.test/x";

// Records every event as one line of text, in the order the listener saw them.
struct EventLog : EventListener {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::vector<TimePoint> attempt_starts;
  void add(std::string line) {
    std::lock_guard lock(mutex);
    lines.push_back(std::move(line));
  }
  void on_fetch_started(const FetchStarted& e) override { add("started " + std::string(e.origin)); }
  void on_fetch_queued(const FetchQueued& e) override { add("queued " + std::to_string(e.fetch)); }
  void on_fetch_admitted(const FetchAdmitted& e) override { add("admitted " + std::to_string(e.fetch)); }
  void on_attempt_started(const AttemptStarted& e) override {
    add("attempt " + std::to_string(e.attempt));
    std::lock_guard lock(mutex);
    attempt_starts.push_back(e.at);
  }
  void on_attempt_ended(const AttemptEnded& e) override {
    add("ended " + std::to_string(e.attempt) + " " + (e.status ? std::to_string(*e.status) : "-") + " " +
        (e.error ? std::string(to_string(*e.error)) : "-"));
  }
  void on_retry_scheduled(const RetryScheduled& e) override {
    add("retry " + std::to_string(e.next_attempt) + " after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(e.delay).count()) + "ms");
  }
  void on_budget_refused(const BudgetRefused& e) override { add("budget refused " + std::string(e.origin)); }
  void on_breaker_state_changed(const BreakerStateChanged& e) override {
    add("breaker " + std::string(to_string(e.from)) + "->" + std::string(to_string(e.to)));
  }
  void on_fetch_ended(const FetchEnded& e) override {
    add("fetch " + std::string(to_string(e.outcome)) + " " + std::string(to_string(e.reason)) + " " +
        std::to_string(e.attempts));
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mutex);
    return std::exchange(lines, {});
  }
};

ClientOptions without_jitter(ClientOptions o, std::chrono::nanoseconds delay = 100ms) {
  o.backoff_policy = std::make_shared<ConstantBackoff>(delay);
  return o;
}

// ---- retry budget -------------------------------------------------------------------------------

TEST(ClientBudget, ARefusedRetryEndsTheFetchWithTheLastOutcome) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503)});
  auto options = without_jitter(v.options());
  options.retry_budget = std::make_shared<TokenRetryBudget>(TokenRetryBudget::Options{.ratio = 0, .min_per_second = 0});
  Client client(options);
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.advance(1s);
  ASSERT_EQ(r.terminal, 1);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, ErrorKind::http_status);
  EXPECT_EQ(r.error->status, 503);
  EXPECT_EQ(r.error->reason, GiveUpReason::budget_exhausted);
  EXPECT_NE(r.error->message.find("retry budget"), std::string::npos) << r.error->message;
  EXPECT_EQ(r.error->attempts.size(), 1u);
  EXPECT_EQ(v.memory->attempts(kDown), 1);
  EXPECT_EQ(client.stats().budget_refusals, 1u);
  EXPECT_EQ(client.stats().retries, 0u);
}

TEST(ClientBudget, TheDefaultBudgetLeavesASingleFetchAlone) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503), Scripted::status_code(503), Scripted::status_code(503),
                           Scripted::ok("finally")});
  Client client(without_jitter(v.options()));  // retry_budget left empty: the default is on
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.advance(2s);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.response->attempts.size(), 4u);
  EXPECT_EQ(client.stats().retries, 3u);
  EXPECT_EQ(client.stats().budget_refusals, 0u);
}

TEST(ClientBudget, OneBudgetSharedByTwoClientsIsSpentByBoth) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503)});
  auto budget = std::make_shared<TokenRetryBudget>(TokenRetryBudget::Options{.ratio = 0, .min_per_second = 1});
  auto options = without_jitter(v.options());
  options.retry_budget = budget;
  Client a(options);
  Client b(options);
  Recorder ra, rb;
  a.fetch({.url = kDown}, ra.callbacks());
  v.advance(500ms);  // a's first retry takes the second's only token; its second retry is refused
  b.fetch({.url = kDown}, rb.callbacks());
  v.advance(100ms);
  ASSERT_TRUE(ra.error && rb.error);
  EXPECT_EQ(ra.error->attempts.size(), 2u);
  EXPECT_EQ(ra.error->reason, GiveUpReason::budget_exhausted);
  EXPECT_EQ(rb.error->attempts.size(), 1u) << "b shares a's budget, which a already spent this second";
  EXPECT_EQ(rb.error->reason, GiveUpReason::budget_exhausted);
}

TEST(ClientBudget, KeepsAnOutageToTheRatioPlusTheFloor) {
  constexpr int kFetches = 1000;
  for (const bool budgeted : {true, false}) {
    VirtualClient v;
    v.memory->script(kDown, {Scripted::status_code(503)});
    auto options = without_jitter(v.options());
    if (!budgeted) options.retry_budget = no_retry_budget();
    Client client(options);
    std::vector<Recorder> recorders(kFetches);
    for (auto& r : recorders) client.fetch({.url = kDown}, r.callbacks());
    v.advance(2s, 10ms);
    for (const auto& r : recorders) ASSERT_EQ(r.terminal, 1);
    const int attempts = v.memory->attempts(kDown);
    if (budgeted) {
      // 1,000 first attempts earn 200 retries (the floor's among them); each fetch ends refused:
      // the outage sees 1.2 times its load, not 4.
      EXPECT_EQ(attempts, kFetches + 200);
      EXPECT_EQ(client.stats().budget_refusals, static_cast<std::uint64_t>(kFetches)) << "each fetch ends refused";
    } else {
      EXPECT_EQ(attempts, 4 * kFetches);
      EXPECT_EQ(client.stats().budget_refusals, 0u);
    }
  }
}

TEST(ClientBudget, NoRetryBudgetIsOneSharedObjectThatAllowsEverything) {
  auto budget = no_retry_budget();
  EXPECT_EQ(budget, no_retry_budget());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(budget->try_spend("http://a.test:80", TimePoint{}));
}

// ---- circuit breaker ---------------------------------------------------------------------------

std::shared_ptr<ConsecutiveFailureBreaker> breaker_after(int failures, std::chrono::nanoseconds open_for = 5s) {
  return std::make_shared<ConsecutiveFailureBreaker>(
      ConsecutiveFailureBreaker::Options{.consecutive_failures = failures, .open_for = open_for});
}

TEST(ClientBreaker, AnOpenCircuitFailsFetchesAtOnceWithNothingSent) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503)});
  auto options = without_jitter(v.options({.max_attempts = 1}));
  options.circuit_breaker = breaker_after(2);
  Client client(options);
  std::vector<Recorder> first(2);
  for (auto& r : first) client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  ASSERT_EQ(v.memory->attempts(kDown), 2);
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.settle();  // no virtual time passes
  ASSERT_EQ(r.terminal, 1);
  EXPECT_EQ(r.error->kind, ErrorKind::circuit_open);
  EXPECT_EQ(r.error->reason, GiveUpReason::circuit_open);
  ASSERT_EQ(r.error->attempts.size(), 1u);
  EXPECT_EQ(r.error->attempts[0].error, ErrorKind::circuit_open);
  EXPECT_EQ(v.memory->attempts(kDown), 2) << "nothing sent while open";
  EXPECT_EQ(client.stats().breaker_rejections, 1u);
  EXPECT_EQ(client.stats().attempts, 2u);
  // Another origin is not affected.
  Recorder other;
  v.memory->script(kUp, {Scripted::ok()});
  client.fetch({.url = kUp}, other.callbacks());
  v.settle();
  EXPECT_TRUE(other.response);
}

TEST(ClientBreaker, HalfOpenLetsExactlyOneProbeThroughAndItsSuccessCloses) {
  VirtualClient v;
  auto slow_ok = Scripted::ok("back");
  slow_ok.latency = 100ms;
  v.memory->script(kDown, {Scripted::status_code(503), Scripted::status_code(503), slow_ok});
  auto log = std::make_shared<EventLog>();
  auto options = without_jitter(v.options({.max_attempts = 1}));
  options.circuit_breaker = breaker_after(2);
  options.events = log;
  Client client(options);
  std::vector<Recorder> failing(2);
  for (auto& r : failing) client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  v.advance(5s, 100ms);  // the open period ends
  std::vector<Recorder> burst(10);
  for (auto& r : burst) client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  EXPECT_EQ(v.memory->attempts(kDown), 3) << "one probe, nine rejected";
  int rejected = 0;
  for (const auto& r : burst) rejected += (r.error && r.error->kind == ErrorKind::circuit_open) ? 1 : 0;
  EXPECT_EQ(rejected, 9);
  v.advance(200ms);
  int succeeded = 0;
  for (const auto& r : burst) succeeded += r.response ? 1 : 0;
  EXPECT_EQ(succeeded, 1);
  Recorder after;
  client.fetch({.url = kDown}, after.callbacks());
  v.advance(200ms);
  EXPECT_TRUE(after.response) << "closed again after the probe succeeded";
  const auto lines = log->take();
  std::vector<std::string> transitions;
  for (const auto& l : lines) {
    if (l.rfind("breaker ", 0) == 0) transitions.push_back(l);
  }
  EXPECT_EQ(transitions, (std::vector<std::string>{"breaker closed->open", "breaker open->half_open",
                                                    "breaker half_open->closed"}));
}

TEST(ClientBreaker, WaitsOutTheOpenPeriodWhenTheDeadlineLeavesRoom) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503), Scripted::status_code(503), Scripted::ok("back")});
  auto options = without_jitter(v.options({.max_attempts = 1}));
  options.circuit_breaker = breaker_after(2, 2s);
  options.timeouts.overall = 10s;
  Client client(options);
  std::vector<Recorder> failing(2);
  for (auto& r : failing) client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.advance(1s);
  EXPECT_EQ(r.terminal, 0) << "waiting for the circuit, not failed";
  v.advance(1500ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  ASSERT_EQ(r.response->attempts.size(), 2u);
  EXPECT_EQ(r.response->attempts[0].error, ErrorKind::circuit_open);
  EXPECT_EQ(r.response->attempts[0].backoff, std::chrono::nanoseconds(2s));
  EXPECT_EQ(r.response->attempts[1].status, 200);
}

TEST(ClientBreaker, AnOpenPeriodPastTheDeadlineFailsAtOnce) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503)});
  auto options = without_jitter(v.options({.max_attempts = 1}));
  options.circuit_breaker = breaker_after(1, 30s);
  options.timeouts.overall = 10s;
  Client client(options);
  Recorder first, r;
  client.fetch({.url = kDown}, first.callbacks());
  v.settle();
  client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  ASSERT_EQ(r.terminal, 1);
  EXPECT_EQ(r.error->reason, GiveUpReason::circuit_open);
}

TEST(ClientBreaker, OutcomesThePolicyDoesNotRetryDoNotOpenIt) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(404)});
  auto breaker = breaker_after(2);
  auto options = without_jitter(v.options());
  options.circuit_breaker = breaker;
  Client client(options);
  std::vector<Recorder> rs(5);
  for (auto& r : rs) client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  EXPECT_EQ(v.memory->attempts(kDown), 5);
  EXPECT_EQ(breaker->state("http://down.test:80"), CircuitState::closed);
}

TEST(ClientBreaker, ACancelledProbeFreesTheProbeSlot) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503), Scripted::hanging(), Scripted::ok()});
  auto breaker = breaker_after(1, 1s);
  auto options = without_jitter(v.options({.max_attempts = 1}));
  options.circuit_breaker = breaker;
  Client client(options);
  Recorder first, probe, next;
  client.fetch({.url = kDown}, first.callbacks());
  v.settle();
  v.advance(1s);
  auto handle = client.fetch({.url = kDown}, probe.callbacks());
  v.settle();
  EXPECT_EQ(breaker->state("http://down.test:80"), CircuitState::half_open);
  handle.cancel();
  v.settle();
  client.fetch({.url = kDown}, next.callbacks());
  v.settle();
  EXPECT_TRUE(next.response) << "the next fetch became the probe";
  EXPECT_EQ(breaker->state("http://down.test:80"), CircuitState::closed);
}

// ---- admission -----------------------------------------------------------------------------------

TEST(ClientAdmission, APerOriginLimitQueuesFetchesInArrivalOrder) {
  VirtualClient v;
  auto slow = Scripted::ok();
  slow.latency = 100ms;
  v.memory->script(kDown, {slow});
  v.memory->script(kUp, {Scripted::ok()});
  auto log = std::make_shared<EventLog>();
  auto options = v.options();
  options.admission.max_per_origin = 2;
  options.events = log;
  Client client(options);
  std::vector<Recorder> rs(6);
  std::vector<int> order;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    auto cb = rs[i].callbacks();
    cb.on_success = [&order, i, &rs](Response) { order.push_back(static_cast<int>(i)); ++rs[i].terminal; };
    client.fetch({.url = kDown}, std::move(cb));
  }
  Recorder other;
  client.fetch({.url = kUp}, other.callbacks());
  v.settle();
  EXPECT_TRUE(other.response) << "another origin does not wait behind this one";
  for (int step = 0; step < 40; ++step) {
    EXPECT_LE(v.memory->in_flight(), 2);
    v.advance(10ms);
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(client.stats().queued, 4u);
  const auto lines = log->take();
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const auto& l) { return l.rfind("queued", 0) == 0; }), 4);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const auto& l) { return l.rfind("admitted", 0) == 0; }), 4);
}

// A fetch whose stop was requested before fetch() is cancelled while it starts, around the moment
// it takes its origin's slot: the slot goes back, so with a limit of 1 the next fetch runs at once.
// Also through the rate stage, and with a rate wait pending (the first attempt's start timer).
TEST(ClientAdmission, AFetchStoppedBeforeItStartsGivesItsSlotBack) {
  for (const bool rate : {false, true}) {
    SCOPED_TRACE(rate ? "with a rate limit" : "concurrency limit only");
    VirtualClient v;
    v.memory->script(kDown, {Scripted::ok()});
    auto options = v.options();
    options.admission.max_per_origin = 1;
    if (rate) options.admission.rate_per_second = 1000;
    Client client(options);
    std::stop_source stopped;
    stopped.request_stop();
    Recorder cancelled;
    client.fetch({.url = kDown}, cancelled.callbacks(), stopped.get_token());
    v.settle();
    EXPECT_EQ(cancelled.terminal, 1);
    EXPECT_TRUE(cancelled.error && cancelled.error->kind == ErrorKind::cancelled);
    Recorder next;
    client.fetch({.url = kDown}, next.callbacks());
    v.advance(10ms);
    EXPECT_TRUE(next.response) << "the stopped fetch kept its slot";
    // A fetch waiting for its rate start holds the slot; cancelled there, it gives it back too.
    if (rate) {
      Recorder first;
      Recorder waiting;
      Recorder after;
      client.fetch({.url = kDown}, first.callbacks());
      v.settle();  // done: the slot is free, but the next token is 1 ms away
      auto handle = client.fetch({.url = kDown}, waiting.callbacks());
      v.settle();
      EXPECT_EQ(waiting.terminal, 0) << "waits for its start time, holding the slot";
      handle.cancel();
      client.fetch({.url = kDown}, after.callbacks());
      v.advance(50ms);
      EXPECT_TRUE(first.response);
      EXPECT_EQ(waiting.terminal, 1);
      EXPECT_TRUE(after.response) << "the fetch cancelled while it waited for its start kept the slot";
    }
  }
}

// When each of `n` fetches made at once started its first attempt, from the first call on.
std::vector<std::chrono::nanoseconds> rate_limited_starts(double rate, int burst, int n) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::ok()});
  auto log = std::make_shared<EventLog>();
  auto options = v.options();
  options.admission.rate_per_second = rate;
  options.admission.rate_burst = burst;
  options.events = log;
  Client client(options);
  const TimePoint t0 = v.clock->now();
  std::vector<Recorder> rs(static_cast<std::size_t>(n));
  for (auto& r : rs) client.fetch({.url = kDown}, r.callbacks());
  v.advance(2s);
  std::vector<std::chrono::nanoseconds> starts;
  for (const auto& r : rs) EXPECT_TRUE(r.response);
  for (const TimePoint t : log->attempt_starts) starts.push_back(t - t0);
  return starts;
}

TEST(ClientAdmission, TheRateLimitSpacesStarts) {
  EXPECT_EQ(rate_limited_starts(10, 1, 5), (std::vector<std::chrono::nanoseconds>{0ms, 100ms, 200ms, 300ms, 400ms}));
}

TEST(ClientAdmission, ABurstStartsAtOnceThenTheRateHolds) {
  EXPECT_EQ(rate_limited_starts(10, 3, 5), (std::vector<std::chrono::nanoseconds>{0ms, 0ms, 0ms, 100ms, 200ms}));
}

TEST(ClientAdmission, ARateWaitPastTheDeadlineIsRefusedAtOnce) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::ok()});
  auto options = v.options();
  options.admission.rate_per_second = 1;
  options.timeouts.overall = 500ms;
  Client client(options);
  Recorder first, second;
  client.fetch({.url = kDown}, first.callbacks());
  client.fetch({.url = kDown}, second.callbacks());
  v.settle();
  ASSERT_EQ(second.terminal, 1) << "refused without waiting";
  EXPECT_EQ(second.error->kind, ErrorKind::deadline_exceeded);
  EXPECT_EQ(second.error->reason, GiveUpReason::deadline);
  EXPECT_TRUE(second.error->attempts.empty());
  EXPECT_TRUE(first.response);
}

TEST(ClientAdmission, CancellingAQueuedFetchLeavesTheQueueInOrder) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::hanging(), Scripted::ok()});
  auto options = v.options();
  options.admission.max_per_origin = 1;
  Client client(options);
  Recorder holder, cancelled, third;
  auto h0 = client.fetch({.url = kDown}, holder.callbacks());
  auto h1 = client.fetch({.url = kDown}, cancelled.callbacks());
  client.fetch({.url = kDown}, third.callbacks());
  v.settle();
  EXPECT_TRUE(h1.cancel());
  v.settle();
  ASSERT_EQ(cancelled.terminal, 1);
  EXPECT_EQ(cancelled.events.back(), "cancel");
  EXPECT_TRUE(cancelled.error->attempts.empty());
  EXPECT_EQ(v.memory->attempts(kDown), 1);
  h0.cancel();  // frees the slot: the third fetch goes, not the cancelled one
  v.settle();
  EXPECT_TRUE(third.response);
  EXPECT_EQ(v.memory->attempts(kDown), 2);
  // Nothing leaked: a new fetch is admitted at once.
  Recorder later;
  client.fetch({.url = kDown}, later.callbacks());
  v.settle();
  EXPECT_TRUE(later.response);
}

TEST(ClientAdmission, DestroyingTheClientEndsQueuedFetchesOnceEach) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::hanging()});
  std::vector<Recorder> rs(6);
  {
    auto options = v.options();
    options.admission.max_per_origin = 1;
    options.admission.rate_per_second = 1;  // and some wait for a start time
    Client client(options);
    for (auto& r : rs) client.fetch({.url = kDown}, r.callbacks());
    v.settle();
  }
  for (const auto& r : rs) {
    EXPECT_EQ(r.terminal, 1);
    EXPECT_EQ(r.events.back(), "cancel");
  }
}

TEST(ClientAdmission, ALimitHoldsWhileThousandsOfOtherOriginsComeAndGo) {
  // Past 4,096 idle origins the gate forgets each one as soon as it is idle: the origin it found
  // last (checked first, before hashing) must be forgotten with it, and the busy origin's slots
  // and queue must survive every one of those erasures.
  VirtualClient v;
  auto slow = Scripted::ok();
  slow.latency = 100ms;
  v.memory->script(kDown, {slow});
  auto options = v.options({.max_attempts = 1});
  options.admission.max_per_origin = 1;
  Client client(options);
  Recorder first, second;
  client.fetch({.url = kDown}, first.callbacks());
  client.fetch({.url = kDown}, second.callbacks());  // queued behind the first
  v.settle();
  std::vector<Recorder> others(5000);
  for (std::size_t i = 0; i < others.size(); ++i) {
    client.fetch({.url = "http://h" + std::to_string(i) + ".test/x"}, others[i].callbacks());
    v.settle();
    ASSERT_EQ(others[i].terminal, 1) << i;  // answered 404 at once: its slot is given back
  }
  EXPECT_EQ(v.memory->attempts(kDown), 1) << "the second fetch still waits for the first's slot";
  v.advance(100ms);
  EXPECT_TRUE(first.response);
  EXPECT_EQ(v.memory->attempts(kDown), 2) << "the slot passed to the queued fetch";
  v.advance(100ms);
  EXPECT_TRUE(second.response);
  EXPECT_EQ(client.stats().queued, 1u);
}

TEST(ClientAdmission, OptionsAreValidated) {
  VirtualClient v;
  auto bad = [&](auto edit, const char* field) {
    auto o = v.options();
    edit(o.admission);
    try {
      Client client(o);
      ADD_FAILURE() << field << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  bad([](AdmissionLimits& a) { a.max_per_origin = 0; }, "admission.max_per_origin");
  bad([](AdmissionLimits& a) { a.rate_per_second = 0; }, "admission.rate_per_second");
  bad([](AdmissionLimits& a) { a.rate_per_second = std::numeric_limits<double>::infinity(); }, "admission.rate_per_second");
  bad([](AdmissionLimits& a) { a.rate_per_second = std::numeric_limits<double>::quiet_NaN(); }, "admission.rate_per_second");
  bad([](AdmissionLimits& a) { a.rate_burst = 0; }, "admission.rate_burst");
}

// ---- events --------------------------------------------------------------------------------------

TEST(ClientEvents, ARetriedFetchIsToldInOrder) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::status_code(503), Scripted::ok()});
  auto log = std::make_shared<EventLog>();
  auto options = without_jitter(v.options());
  options.events = log;
  Client client(options);
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.advance(500ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(log->take(), (std::vector<std::string>{"started http://down.test:80", "attempt 1", "ended 1 503 -",
                                                   "retry 2 after 100ms", "attempt 2", "ended 2 200 -",
                                                   "fetch success none 2"}));
}

TEST(ClientEvents, BudgetRefusalsAndFailuresAreTold) {
  VirtualClient v;
  v.memory->script(kDown, {Scripted::fault(ErrorKind::connect_failure)});
  auto log = std::make_shared<EventLog>();
  auto options = without_jitter(v.options());
  options.events = log;
  options.retry_budget = std::make_shared<TokenRetryBudget>(TokenRetryBudget::Options{.ratio = 0, .min_per_second = 0});
  Client client(options);
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  EXPECT_EQ(log->take(), (std::vector<std::string>{"started http://down.test:80", "attempt 1",
                                                   "ended 1 - connect_failure", "budget refused http://down.test:80",
                                                   "fetch failure budget_exhausted 1"}));
}

TEST(ClientEvents, AThrowingListenerGoesToTheHookAndChangesNothing) {
  struct Throwing : EventListener {
    void on_attempt_started(const AttemptStarted&) override { throw std::runtime_error("listener broke"); }
  };
  VirtualClient v;
  v.memory->script(kDown, {Scripted::ok()});
  auto options = v.options();
  options.events = std::make_shared<Throwing>();
  int hooked = 0;
  options.on_callback_exception = [&](std::exception_ptr) { ++hooked; };
  Client client(options);
  Recorder r;
  client.fetch({.url = kDown}, r.callbacks());
  v.settle();
  EXPECT_TRUE(r.response);
  EXPECT_EQ(hooked, 1);
}

TEST(ClientEvents, AnInvalidRequestIsStartedAndEnded) {
  VirtualClient v;
  auto log = std::make_shared<EventLog>();
  auto options = v.options();
  options.events = log;
  Client client(options);
  Recorder r;
  client.fetch({.url = "ftp://nope"}, r.callbacks());
  v.settle();
  EXPECT_EQ(log->take(), (std::vector<std::string>{"started ", "fetch failure not_retryable 0"}));
}

}  // namespace
}  // namespace fetchpipe
