// The pipeline's contract, in virtual time: retries, waits, clocks, reasons, cancellation.
#include <gtest/gtest.h>

#include "client_harness.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

constexpr const char* kUrl = "http://svc.test/item";

TEST(Client, SucceedsWithTheBufferedBodyOnTheExecutor) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok("hello world", 3)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  EXPECT_EQ(rec.terminal, 0) << "nothing may run before the executor does";
  v.settle();
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.response->status, 200);
  EXPECT_EQ(rec.response->body, "hello world");
  EXPECT_EQ(rec.response->final_url, kUrl);
  ASSERT_EQ(rec.response->attempts.size(), 1u);
  EXPECT_EQ(rec.response->attempts[0].status, 200);
  EXPECT_EQ(rec.events, (std::vector<std::string>{"attempt:1", "success"}));
}

TEST(Client, RetriesAfterTheBackoffAndNotBefore) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503), Scripted::status_code(503), Scripted::ok("done")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
  v.advance(99ms);
  EXPECT_EQ(v.memory->attempts(kUrl), 1) << "first backoff is 100ms";
  v.advance(1ms);
  EXPECT_EQ(v.memory->attempts(kUrl), 2);
  v.advance(199ms);
  EXPECT_EQ(v.memory->attempts(kUrl), 2) << "second backoff is 200ms";
  v.advance(1ms);
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.response->body, "done");
  ASSERT_EQ(rec.response->attempts.size(), 3u);
  EXPECT_EQ(rec.response->attempts[0].backoff, std::chrono::nanoseconds(100ms));
  EXPECT_EQ(rec.response->attempts[1].backoff, std::chrono::nanoseconds(200ms));
  EXPECT_EQ(rec.response->attempts[2].backoff, std::nullopt);
  EXPECT_EQ(rec.response->attempts[0].status, 503);
}

TEST(Client, AttemptsExhaustedKeepsTheLastStatus) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503, "busy now\nmore")});
  Client client(v.options({.max_attempts = 3}));
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(2s);
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::http_status);
  EXPECT_EQ(rec.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(rec.error->status, 503);
  EXPECT_EQ(rec.error->attempts.size(), 3u);
  EXPECT_EQ(v.memory->attempts(kUrl), 3);
  EXPECT_NE(rec.error->message.find("HTTP 503: busy now"), std::string::npos) << rec.error->message;
  EXPECT_NE(rec.error->message.find(kUrl), std::string::npos) << rec.error->message;
}

TEST(Client, NonRetryableStatusStopsAtOnce) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(404)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(1s);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(rec.error->status, 404);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
}

TEST(Client, WaitThatWouldCrossTheDeadlineEndsTheFetchAtOnce) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503)});
  auto options = v.options();
  options.backoff_policy = std::make_shared<ConstantBackoff>(2s);
  options.timeouts.overall = 1s;
  Client client(options);
  Recorder rec;
  const auto start = v.clock->now();
  client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  ASSERT_EQ(rec.terminal, 1) << "no sleeping into a dead deadline";
  EXPECT_EQ(v.clock->now(), start);
  EXPECT_EQ(rec.error->kind, ErrorKind::http_status);
  EXPECT_EQ(rec.error->reason, GiveUpReason::deadline);
  EXPECT_EQ(rec.error->status, 503);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
}

TEST(Client, RetryAfterLongerThanTheDeadlineEndsWithTheLastOutcome) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::retry_after(503, "30")});
  auto options = v.options();
  options.timeouts.overall = 10s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->reason, GiveUpReason::deadline);
  EXPECT_EQ(rec.error->status, 503);
}

TEST(Client, RetryAfterIsHonouredAndCapped) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::retry_after(429, "3"), Scripted::retry_after(503, "600"), Scripted::ok()});
  Client client(v.options({.retry_after_max = 5s}));
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  v.advance(2999ms, 1ms);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
  v.advance(1ms);
  EXPECT_EQ(v.memory->attempts(kUrl), 2);
  v.advance(5s, 1ms);
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.response->attempts[0].backoff, std::chrono::nanoseconds(3s));
  EXPECT_EQ(rec.response->attempts[1].backoff, std::chrono::nanoseconds(5s)) << "600 s capped at 5 s";
}

TEST(Client, AttemptTimeoutEndsAHungAttemptAndRetries) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging(), Scripted::ok()});
  auto options = v.options();
  options.timeouts.attempt = 2s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(1999ms, 1ms);
  EXPECT_EQ(v.memory->in_flight(), 1);
  v.advance(1ms);
  EXPECT_EQ(v.memory->in_flight(), 0) << "the hung exchange was ended";
  v.advance(100ms);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.response->attempts[0].error, ErrorKind::attempt_timeout);
}

TEST(Client, AttemptTimeoutCoversASlowBody) {
  VirtualClient v;
  auto slow = Scripted::ok("abcdefghij", 10);
  slow.chunk_interval = 500ms;
  v.memory->script(kUrl, {slow});
  auto options = v.options({.max_attempts = 1});
  options.timeouts.attempt = 2s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(1999ms);
  EXPECT_EQ(rec.terminal, 0) << "the attempt clock fires at 2 s, not before";
  v.advance(1ms);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::attempt_timeout);
  EXPECT_EQ(rec.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(rec.error->attempts[0].elapsed, std::chrono::nanoseconds(2s));
}

TEST(Client, StallTimeoutFiresWhenBytesStopComing) {
  VirtualClient v;
  auto slow = Scripted::ok("abcd", 4);
  slow.chunk_interval = 3s;
  v.memory->script(kUrl, {slow});
  auto options = v.options({.max_attempts = 1});
  options.timeouts.stall = 1s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(999ms);
  EXPECT_EQ(rec.terminal, 0) << "the stall clock fires 1 s after the head, not before";
  v.advance(1ms);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::stall_timeout);
  EXPECT_EQ(rec.error->attempts[0].elapsed, std::chrono::nanoseconds(1s));
}

TEST(Client, OverallDeadlineMidAttemptIsDeadlineExceeded) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  auto options = v.options();
  options.timeouts.overall = 1500ms;
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(1499ms);
  EXPECT_EQ(rec.terminal, 0);
  v.advance(1ms);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::deadline_exceeded);
  EXPECT_EQ(rec.error->reason, GiveUpReason::deadline);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
}

TEST(Client, ConnectTimeoutIsItsOwnKindAndRetried) {
  VirtualClient v;
  auto slow_connect = Scripted::ok();
  slow_connect.connect_delay = 5s;
  v.memory->script(kUrl, {slow_connect, Scripted::ok("second")});
  auto options = v.options();
  options.timeouts.connect = 1s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(1200ms);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.response->attempts[0].error, ErrorKind::connect_timeout);
  EXPECT_EQ(rec.response->body, "second");
}

TEST(Client, PostIsNotRetriedOnceItMayHaveArrived) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::fault(ErrorKind::connection_reset)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.method = "POST", .url = kUrl, .body = "x"}, rec.callbacks());
  v.advance(1s);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::connection_reset);
  EXPECT_EQ(rec.error->reason, GiveUpReason::non_idempotent);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
}

TEST(Client, PostIsRetriedAfterAConnectFailure) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::fault(ErrorKind::connect_failure), Scripted::ok("made")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.method = "POST", .url = kUrl, .body = "x"}, rec.callbacks());
  v.advance(1s);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(v.memory->attempts(kUrl), 2);
  EXPECT_EQ(v.memory->requests(kUrl)[1].body, "x");
}

TEST(Client, PostWithIdempotencyKeyIsRetried) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503), Scripted::ok()});
  Client client(v.options());
  Recorder rec;
  client.fetch({.method = "POST", .url = kUrl, .headers = {{"Idempotency-Key", "abc"}}}, rec.callbacks());
  v.advance(1s);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(v.memory->attempts(kUrl), 2);
}

TEST(Client, NonIdempotentReasonForA503Post) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.method = "PATCH", .url = kUrl}, rec.callbacks());
  v.advance(1s);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->reason, GiveUpReason::non_idempotent);
}

TEST(Client, InvalidRequestIsReportedNotThrownAndNeverInline) {
  VirtualClient v;
  auto options = v.options();
  options.callback_executor = std::make_shared<InlineExecutor>();
  Client client(options);
  for (const Request& bad : {Request{.url = "ftp://x/"}, Request{.url = "not a url"},
                             Request{.url = kUrl, .headers = {{"X", "a\nb"}}}, Request{.method = "G T", .url = kUrl}}) {
    Recorder rec;
    EXPECT_NO_THROW(client.fetch(bad, rec.callbacks()));
    EXPECT_EQ(rec.terminal, 0) << "ran inside fetch()";
    v.settle();
    ASSERT_EQ(rec.terminal, 1);
    EXPECT_EQ(rec.error->kind, ErrorKind::invalid_request);
    EXPECT_EQ(rec.error->reason, GiveUpReason::not_retryable);
    EXPECT_TRUE(rec.error->attempts.empty());
  }
  EXPECT_EQ(v.memory->total_attempts(), 0);
}

TEST(Client, InvalidConfigurationIsRejectedWhenBuilt) {
  VirtualClient v;
  auto expect_rejected = [](ClientOptions o, std::string_view field) {
    try {
      Client c(std::move(o));
      ADD_FAILURE() << "accepted bad " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  auto o = v.options();
  o.timeouts.attempt = -5ms;
  expect_rejected(o, "timeouts.attempt must be > 0, got -5ms");
  o = v.options();
  o.timeouts.connect = 0ms;
  expect_rejected(o, "timeouts.connect");
  o = v.options();
  o.timeouts.overall = 0ms;
  expect_rejected(o, "timeouts.overall");
  o = v.options();
  o.timeouts.stall = -1s;
  expect_rejected(o, "timeouts.stall");
  o = v.options();
  o.max_redirects = -1;
  expect_rejected(o, "max_redirects must be >= 0, got -1");
  o = v.options();
  o.transport = nullptr;
  expect_rejected(o, "transport");
  o = v.options();
  o.retry_policy = nullptr;
  expect_rejected(o, "retry_policy");
}

TEST(Client, CancelDuringAnAttemptAbortsItAndRunsOnCancel) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  Client client(v.options());
  Recorder rec;
  auto handle = client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(50ms);
  EXPECT_FALSE(handle.done());
  EXPECT_TRUE(handle.cancel());
  EXPECT_EQ(rec.terminal, 0) << "not inside cancel()";
  EXPECT_TRUE(handle.done());
  v.settle();
  ASSERT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.events.back(), "cancel");
  EXPECT_EQ(rec.error->kind, ErrorKind::cancelled);
  EXPECT_EQ(rec.error->reason, GiveUpReason::cancelled);
  ASSERT_EQ(rec.error->attempts.size(), 1u);
  EXPECT_EQ(rec.error->attempts[0].error, ErrorKind::cancelled);
  EXPECT_EQ(rec.error->attempts[0].elapsed, std::chrono::nanoseconds(50ms));
  EXPECT_EQ(v.memory->in_flight(), 0) << "the exchange was aborted";
}

TEST(Client, CancelDuringABackoffWaitStopsEverything) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503)});
  Client client(v.options());
  Recorder rec;
  auto handle = client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(50ms);
  EXPECT_TRUE(handle.cancel());
  v.advance(10s);
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
  EXPECT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.events.back(), "cancel");
  EXPECT_EQ(v.clock->pending(), 0u) << "the backoff timer was cancelled";
}

TEST(Client, CancelAfterCompletionIsANoOpAndSaysSo) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok()});
  Client client(v.options());
  Recorder rec;
  auto handle = client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  EXPECT_FALSE(handle.cancel());
  v.settle();
  EXPECT_EQ(rec.events, (std::vector<std::string>{"attempt:1", "success"}));
}

TEST(Client, CancelIsNeverInlineEvenWithAnInlineExecutor) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  auto options = v.options();
  options.callback_executor = std::make_shared<InlineExecutor>();
  Client client(options);
  Recorder rec;
  auto handle = client.fetch({.url = kUrl}, rec.callbacks());
  EXPECT_TRUE(handle.cancel());
  EXPECT_EQ(rec.terminal, 0);
  v.clock->run_due();
  EXPECT_EQ(rec.terminal, 1);
}

TEST(Client, StopTokenCancels) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  Client client(v.options());
  Recorder rec;
  std::stop_source stop;
  auto handle = client.fetch({.url = kUrl}, rec.callbacks(), stop.get_token());
  v.advance(10ms);
  stop.request_stop();
  v.settle();
  EXPECT_EQ(rec.events.back(), "cancel");
  EXPECT_TRUE(handle.done());
}

TEST(Client, AlreadyStoppedTokenCancelsBeforeAnyAttemptCompletes) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok()});
  Client client(v.options());
  Recorder rec;
  std::stop_source stop;
  stop.request_stop();
  client.fetch({.url = kUrl}, rec.callbacks(), stop.get_token());
  EXPECT_EQ(rec.terminal, 0);
  v.settle();
  EXPECT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.events.back(), "cancel");
}

TEST(Client, ExceptionFromACallbackReachesTheHook) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok()});
  auto options = v.options();
  std::vector<std::string> caught;
  options.on_callback_exception = [&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      caught.emplace_back(ex.what());
    }
  };
  Client client(options);
  client.fetch({.url = kUrl}, {.on_success = [](Response) { throw std::runtime_error("boom"); }});
  v.settle();
  EXPECT_EQ(caught, std::vector<std::string>{"boom"});
  EXPECT_EQ(client.stats().in_flight, 0u);
}

TEST(Client, ExecutorThatRefusesWorkStillDeliversAndReports) {
  struct RefusingExecutor : Executor {
    void post(std::function<void()>) override { throw std::runtime_error("executor full"); }
  };
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok()});
  auto options = v.options();
  options.callback_executor = std::make_shared<RefusingExecutor>();
  int reported = 0;
  options.on_callback_exception = [&](std::exception_ptr) { ++reported; };
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  EXPECT_EQ(rec.terminal, 1);
  EXPECT_GE(reported, 1);
}

TEST(Client, TransportThatThrowsEndsAsInternalError) {
  struct ThrowingTransport : Transport {
    std::shared_ptr<Exchange> start(const ExchangeSpec&, std::shared_ptr<ExchangeObserver>) override {
      throw std::runtime_error("no descriptors left");
    }
    std::string_view name() const override { return "throwing"; }
  };
  VirtualClient v;
  auto options = v.options();
  options.transport = std::make_shared<ThrowingTransport>();
  Client client(options);
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::internal_error);
  EXPECT_NE(rec.error->message.find("no descriptors left"), std::string::npos);
}

TEST(Client, ExchangeSpecStaysValidAfterTheClientIsGone) {
  // A transport shared by several clients may still hold an exchange when one client is
  // destroyed: what the spec points to (request, TLS options) must live until on_complete.
  struct HoldingTransport : Transport {
    ExchangeSpec spec;
    std::shared_ptr<ExchangeObserver> observer;
    std::shared_ptr<Exchange> start(const ExchangeSpec& s, std::shared_ptr<ExchangeObserver> o) override {
      spec = s;
      observer = std::move(o);
      struct Noop : Exchange {
        void cancel() override {}
      };
      return std::make_shared<Noop>();
    }
    std::string_view name() const override { return "holding"; }
  };
  VirtualClient v;
  auto holding = std::make_shared<HoldingTransport>();
  {
    auto options = v.options();
    options.transport = holding;
    options.tls.ca_file = std::string(100, 'c');  // long enough to live on the heap
    Client client(options);
    client.fetch({.url = kUrl}, {});
  }
  ASSERT_TRUE(holding->observer);
  EXPECT_EQ(holding->spec.tls->ca_file, std::string(100, 'c'));
  EXPECT_EQ(holding->spec.request->url, kUrl);
  holding->observer->on_complete(ExchangeResult{ErrorKind::cancelled, "late"});  // ignored, no crash
}

TEST(Client, BodyLargerThanTheLimitFailsWhileStreaming) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok(std::string(1000, 'x'), 10)});
  v.memory->script("http://svc.test/exact", {Scripted::ok(std::string(999, 'y'), 3)});
  auto options = v.options();
  options.max_body_bytes = 999;
  Client client(options);
  Recorder too_big;
  Recorder exact;
  client.fetch({.url = kUrl}, too_big.callbacks());
  client.fetch({.url = "http://svc.test/exact"}, exact.callbacks());
  v.settle();
  ASSERT_TRUE(too_big.error);
  EXPECT_EQ(too_big.error->kind, ErrorKind::body_too_large);
  EXPECT_EQ(too_big.error->reason, GiveUpReason::not_retryable);
  ASSERT_TRUE(exact.response) << "a body of exactly the limit is allowed";
  EXPECT_EQ(exact.response->body.size(), 999u);
}

TEST(Client, AttemptCallbackCarriesThePlannedBackoff) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::fault(ErrorKind::connect_failure), Scripted::ok()});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(200ms);
  EXPECT_EQ(rec.events, (std::vector<std::string>{"attempt:1", "attempt:2", "success"}));
  ASSERT_EQ(rec.attempts_seen.size(), 2u);
  EXPECT_EQ(rec.attempts_seen[0].error, ErrorKind::connect_failure);
  EXPECT_EQ(rec.attempts_seen[0].backoff, std::chrono::nanoseconds(100ms));
  EXPECT_EQ(rec.attempts_seen[1].backoff, std::nullopt);
}

TEST(Client, TlsFailureIsNotRetried) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::fault(ErrorKind::tls_failure)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.callbacks());
  v.advance(1s);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::tls_failure);
  EXPECT_EQ(rec.error->reason, GiveUpReason::not_retryable);
}

TEST(Client, StatsReconcile) {
  VirtualClient v;
  v.memory->script("http://svc.test/ok", {Scripted::ok()});
  v.memory->script("http://svc.test/bad", {Scripted::status_code(400)});
  v.memory->script("http://svc.test/hang", {Scripted::hanging()});
  Client client(v.options());
  client.fetch({.url = "http://svc.test/ok"}, {});
  client.fetch({.url = "http://svc.test/bad"}, {});
  auto h = client.fetch({.url = "http://svc.test/hang"}, {});
  client.fetch({.url = "http://svc.test/hang"}, {});
  v.settle();
  h.cancel();
  v.settle();
  const auto s = client.stats();
  EXPECT_EQ(s.started, 4u);
  EXPECT_EQ(s.succeeded, 1u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.cancelled, 1u);
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.started, s.succeeded + s.failed + s.cancelled + s.in_flight);
}

TEST(Client, DestroyingTheClientCancelsAndDeliversBeforeReturning) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  std::vector<Recorder> recs(1000);
  {
    Client client(v.options());
    for (auto& r : recs) client.fetch({.url = kUrl}, r.callbacks());
    v.advance(5ms);
    // Nobody drains the manual executor: the destructor must run the callbacks itself.
  }
  for (const auto& r : recs) {
    ASSERT_EQ(r.terminal, 1);
    EXPECT_EQ(r.events.back(), "cancel");
    EXPECT_NE(r.error->message.find("client was destroyed"), std::string::npos);
  }
  // Stale drain tasks may still sit in the executor; running them must change nothing.
  v.executor->run_all();
  v.clock->advance(1h);
  v.executor->run_all();
  for (const auto& r : recs) {
    EXPECT_EQ(r.terminal, 1);
    EXPECT_EQ(r.events.size(), 1u);
  }
}

}  // namespace
}  // namespace fetchpipe
