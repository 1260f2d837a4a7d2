// Hedged requests through the Client, in virtual time on the memory transport: who wins, what the
// losers become, what starts the next hedge, and what stops one (budget, attempt limit, method).
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "fetchpipe/policies/fixed_hedging.hpp"
#include "fetchpipe/token_retry_budget.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

constexpr const char* kUrl = "http://svc.test/x";

Scripted answer_after(std::chrono::nanoseconds latency, std::string body, std::size_t chunks = 1) {
  auto s = Scripted::ok(std::move(body), chunks);
  s.latency = latency;
  if (chunks > 1) s.chunk_interval = 1ms;
  return s;
}

Scripted status_after(std::chrono::nanoseconds latency, int status) {
  auto s = Scripted::status_code(status, "no");
  s.latency = latency;
  return s;
}

ClientOptions hedged(const VirtualClient& v, std::chrono::nanoseconds delay = 50ms, int max_in_flight = 2,
                     DefaultRetryPolicy::Options retry = {}) {
  auto o = v.options(retry);
  o.backoff_policy = std::make_shared<ConstantBackoff>(100ms);
  o.hedging = std::make_shared<FixedHedging>(FixedHedging::Options{.delay = delay, .max_in_flight = max_in_flight});
  o.retry_budget = no_retry_budget();
  return o;
}

TEST(ClientHedging, ALateFirstAttemptIsHedgedAndTheFirstAnswerWins) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(500ms, "slow"), answer_after(10ms, "fast")});
  Client client(hedged(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(59ms);
  EXPECT_EQ(r.terminal, 0);
  EXPECT_EQ(v.memory->attempts(kUrl), 2);  // the hedge went at 50 ms
  v.advance(2ms);
  ASSERT_EQ(r.terminal, 1);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.response->body, "fast");
  ASSERT_EQ(r.response->attempts.size(), 2u);
  const auto& first = r.response->attempts[0];
  const auto& hedge = r.response->attempts[1];
  EXPECT_FALSE(first.hedge);
  EXPECT_EQ(first.error, ErrorKind::cancelled);
  EXPECT_NE(first.message.find("attempt 2 answered first"), std::string::npos) << first.message;
  EXPECT_TRUE(hedge.hedge);
  EXPECT_EQ(hedge.status, 200);
  EXPECT_FALSE(hedge.error);
  EXPECT_EQ(hedge.start - first.start, 50ms);
  EXPECT_EQ(v.memory->in_flight(), 0);  // the loser was cancelled at once
  EXPECT_EQ(r.attempts_seen.size(), 2u);
  const auto stats = client.stats();
  EXPECT_EQ(stats.attempts, 2u);
  EXPECT_EQ(stats.hedges, 1u);
  EXPECT_EQ(stats.retries, 0u);
}

TEST(ClientHedging, AnAnswerBeforeTheDelaySendsNoHedge) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(40ms, "soon")});
  Client client(hedged(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(200ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(r.response->attempts.size(), 1u);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
  EXPECT_EQ(client.stats().hedges, 0u);
}

TEST(ClientHedging, TheFirstAttemptStillWinsWhenItAnswersFirst) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(70ms, "first"), answer_after(500ms, "hedge")});
  Client client(hedged(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(r.response->body, "first");
  ASSERT_EQ(r.response->attempts.size(), 2u);
  EXPECT_FALSE(r.response->attempts[0].error);
  EXPECT_TRUE(r.response->attempts[1].hedge);
  EXPECT_EQ(r.response->attempts[1].error, ErrorKind::cancelled);
  EXPECT_EQ(v.memory->in_flight(), 0);
}

TEST(ClientHedging, NonIdempotentRequestsAreNeverHedged) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(300ms, "done")});
  Client client(hedged(v));
  Recorder post, keyed;
  client.fetch({.method = "POST", .url = kUrl, .body = "x"}, post.callbacks());
  v.advance(400ms);
  ASSERT_TRUE(post.response);
  EXPECT_EQ(post.response->attempts.size(), 1u);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
  // An Idempotency-Key makes a POST safe to send twice.
  Request with_key{.method = "POST", .url = kUrl, .body = "x"};
  with_key.headers.set("Idempotency-Key", "k1");
  client.fetch(with_key, keyed.callbacks());
  v.advance(400ms);
  ASSERT_TRUE(keyed.response);
  EXPECT_EQ(keyed.response->attempts.size(), 2u);
}

TEST(ClientHedging, ARetryableHedgeOutcomeStartsTheNextHedgeAtOnce) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging(), status_after(10ms, 503), answer_after(5ms, "third")});
  Client client(hedged(v, 100ms, 3));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(130ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.response->body, "third");
  const auto& a = r.response->attempts;
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[1].status, 503);
  EXPECT_TRUE(a[1].hedge && a[2].hedge);
  // The 503 at 110 ms let the third go then, not at the next delay (200 ms).
  EXPECT_EQ(a[2].start - a[0].start, 110ms);
  EXPECT_EQ(a[0].error, ErrorKind::cancelled);
  EXPECT_EQ(v.memory->in_flight(), 0);
}

TEST(ClientHedging, ARetryableOutcomeReplacesTheLegEvenAtTwoInFlight) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging(), Scripted::fault(ErrorKind::connection_reset, 5ms),
                          answer_after(5ms, "third")});
  Client client(hedged(v, 50ms, 2));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(70ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  ASSERT_EQ(r.response->attempts.size(), 3u);
  EXPECT_EQ(r.response->attempts[1].error, ErrorKind::connection_reset);
  EXPECT_EQ(r.response->attempts[2].start - r.response->attempts[0].start, 55ms);
}

TEST(ClientHedging, ANonRetryableFailureOfOneLegWaitsForTheOthers) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(300ms, "late but fine"), status_after(10ms, 404)});
  Client client(hedged(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(100ms);
  EXPECT_EQ(r.terminal, 0);  // the 404 at 60 ms did not end the fetch
  EXPECT_EQ(v.memory->attempts(kUrl), 2);  // and, not retryable, started no other hedge
  v.advance(250ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.response->body, "late but fine");
  ASSERT_EQ(r.response->attempts.size(), 2u);
  EXPECT_EQ(r.response->attempts[1].status, 404);
}

TEST(ClientHedging, WhenEveryLegFailsTheFetchRetriesAfterItsBackoff) {
  VirtualClient v;
  v.memory->script(kUrl, {status_after(80ms, 503), status_after(20ms, 500), answer_after(1ms, "retried")});
  Client client(hedged(v, 50ms, 2, {.max_attempts = 4}));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(300ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  const auto& a = r.response->attempts;
  // 1 (503 at 80 ms), hedge 2 (500 at 70 ms; a hedge 3 would pass nothing new: it goes at once
  // and answers in 1 ms). What matters: exactly one terminal, the winner's body, bounded attempts.
  EXPECT_EQ(r.response->body, "retried");
  EXPECT_LE(a.size(), 4u);
  EXPECT_EQ(r.terminal, 1);
}

TEST(ClientHedging, TheRetryPolicysAttemptLimitBoundsHedges) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(1s, "a"), answer_after(1s, "b"), answer_after(1s, "c")});
  Client client(hedged(v, 10ms, 5, {.max_attempts = 2}));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(1100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(v.memory->attempts(kUrl), 2);
  EXPECT_EQ(r.response->attempts.size(), 2u);
}

TEST(ClientHedging, TheRequestsOwnAttemptLimitBoundsHedges) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(1s, "a")});
  Client client(hedged(v, 10ms, 5, {.max_attempts = 4}));
  Recorder r;
  Request request{.url = kUrl};
  request.overrides.max_attempts = 3;
  client.fetch(request, r.callbacks());
  v.advance(1100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(v.memory->attempts(kUrl), 3);
}

TEST(ClientHedging, AHedgeTheBudgetRefusesIsNotSentAndSaysSo) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(200ms, "only")});
  auto options = hedged(v);
  options.retry_budget = std::make_shared<TokenRetryBudget>(TokenRetryBudget::Options{.ratio = 0, .min_per_second = 0});
  Client client(options);
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(300ms);
  ASSERT_TRUE(r.response);
  ASSERT_EQ(r.response->attempts.size(), 1u);
  EXPECT_NE(r.response->attempts[0].message.find("no hedge: the retry budget"), std::string::npos)
      << r.response->attempts[0].message;
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
  EXPECT_EQ(client.stats().budget_refusals, 1u);
  EXPECT_EQ(client.stats().hedges, 0u);
}

TEST(ClientHedging, HedgesSpendTheRetryBudget) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(200ms, "slow")});
  auto options = hedged(v);
  options.retry_budget = std::make_shared<TokenRetryBudget>(TokenRetryBudget::Options{.ratio = 0, .min_per_second = 1});
  Client client(options);
  Recorder a, b;
  client.fetch({.url = kUrl}, a.callbacks());
  client.fetch({.url = kUrl}, b.callbacks());
  v.advance(300ms);
  ASSERT_TRUE(a.response && b.response);
  // One token for the second: one fetch hedged, the other was refused.
  EXPECT_EQ(a.response->attempts.size() + b.response->attempts.size(), 3u);
  EXPECT_EQ(client.stats().hedges, 1u);
  EXPECT_EQ(client.stats().budget_refusals, 1u);
}

TEST(ClientHedging, StreamedBytesComeFromTheWinnerOnly) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(80ms, "AAAAAAAA", 4), answer_after(10ms, "BBBBBBBB", 4)});
  Client client(hedged(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(false));
  v.advance(200ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.streamed, "BBBBBBBB");
  EXPECT_EQ(std::count(r.events.begin(), r.events.end(), "rewind"), 0);
  EXPECT_EQ(v.memory->in_flight(), 0);
}

TEST(ClientHedging, StreamingFromTheFirstAttemptWhenItsHeadComesFirst) {
  VirtualClient v;
  // The first attempt's head arrives at 60 ms, its body trickles on; the hedge would answer at 70 ms.
  auto slow_body = answer_after(60ms, "AAAAAAAAAAAA", 6);
  slow_body.chunk_interval = 20ms;
  v.memory->script(kUrl, {slow_body, answer_after(20ms, "BBBB", 2)});
  Client client(hedged(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(false));
  v.advance(300ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.streamed, "AAAAAAAAAAAA");
  EXPECT_EQ(r.response->attempts[1].error, ErrorKind::cancelled);
}

TEST(ClientHedging, CancelDuringAHedgeAbortsEveryAttempt) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  Client client(hedged(v, 50ms, 3));
  Recorder r;
  auto handle = client.fetch({.url = kUrl}, r.callbacks());
  v.advance(120ms);
  EXPECT_EQ(v.memory->in_flight(), 3);
  EXPECT_TRUE(handle.cancel());
  v.settle();
  ASSERT_EQ(r.terminal, 1);
  EXPECT_EQ(r.events.back(), "cancel");
  EXPECT_EQ(v.memory->in_flight(), 0);
  ASSERT_EQ(r.error->attempts.size(), 3u);
  for (const auto& a : r.error->attempts) EXPECT_EQ(a.error, ErrorKind::cancelled) << a.number;
  v.advance(200ms);  // no hedge timer left behind
  EXPECT_EQ(v.memory->attempts(kUrl), 3);
}

TEST(ClientHedging, TheDeadlineEndsEveryAttempt) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  auto options = hedged(v);
  options.timeouts.overall = 200ms;
  Client client(options);
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(300ms);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, ErrorKind::deadline_exceeded);
  ASSERT_EQ(r.error->attempts.size(), 2u);
  for (const auto& a : r.error->attempts) EXPECT_EQ(a.error, ErrorKind::deadline_exceeded) << a.number;
  EXPECT_EQ(v.memory->in_flight(), 0);
}

TEST(ClientHedging, DestroyingTheClientWithHedgesInFlightCallsBackOnce) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  Recorder r;
  {
    Client client(hedged(v, 50ms, 4));
    client.fetch({.url = kUrl}, r.callbacks());
    v.advance(200ms);
    EXPECT_EQ(v.memory->in_flight(), 4);
  }
  v.settle();
  EXPECT_EQ(r.terminal, 1);
  EXPECT_EQ(r.events.back(), "cancel");
  EXPECT_EQ(v.memory->in_flight(), 0);
}

struct HedgeEvents : EventListener {
  std::vector<std::string> lines;
  void on_attempt_started(const AttemptStarted& e) override {
    lines.push_back("attempt " + std::to_string(e.attempt) + (e.hedge ? " hedge" : ""));
  }
  void on_hedge_started(const HedgeStarted& e) override {
    lines.push_back("hedge " + std::to_string(e.attempt) + " after " +
                    std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(e.after).count()) + "ms");
  }
  void on_attempt_ended(const AttemptEnded& e) override {
    lines.push_back("ended " + std::to_string(e.attempt) + " " + (e.error ? std::string(to_string(*e.error)) : "ok"));
  }
};

TEST(ClientHedging, EventsNameTheHedge) {
  VirtualClient v;
  v.memory->script(kUrl, {answer_after(500ms, "slow"), answer_after(10ms, "fast")});
  auto options = hedged(v);
  auto events = std::make_shared<HedgeEvents>();
  options.events = events;
  Client client(options);
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(events->lines,
            (std::vector<std::string>{"attempt 1", "attempt 2 hedge", "hedge 2 after 50ms", "ended 1 cancelled", "ended 2 ok"}));
}

TEST(ClientHedging, AHedgingPolicyWithTooManyInFlightIsRefused) {
  VirtualClient v;
  struct Six : HedgingPolicy {
    std::optional<std::chrono::nanoseconds> hedge_delay(std::string_view) override { return 1ms; }
    int max_in_flight() const override { return 6; }
  };
  auto options = v.options();
  options.hedging = std::make_shared<Six>();
  try {
    Client client(options);
    FAIL() << "accepted max_in_flight 6";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_in_flight() must be 2..5, got 6"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fetchpipe
