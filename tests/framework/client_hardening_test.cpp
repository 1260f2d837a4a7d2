// Regression tests for defects a close review of the pipeline found: each names the defect it
// pins, and each failed before its fix. Virtual time throughout, except where a deadlock is the
// defect (those run the scenario on a thread and fail, rather than hang, when it does not finish).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include "client_harness.hpp"
#include "fetchpipe/policies/constant_backoff.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

// Runs `scenario` on its own thread; a deadlock becomes a test failure (and ends the process,
// since a deadlocked thread cannot be joined) instead of a hung test run.
void run_or_die(const char* what, std::function<void()> scenario) {
  std::promise<void> done;
  auto finished = done.get_future();
  std::thread([&done, scenario = std::move(scenario)] {
    scenario();
    done.set_value();
  }).detach();
  if (finished.wait_for(20s) != std::future_status::ready) {
    ADD_FAILURE() << what << ": did not finish within 20 s (deadlock)";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  finished.get();
}

// ---- a non-idempotent request is never sent twice ---------------------------------------------

TEST(ClientHardening, PostIsNotResentWhenARedirectHopFailsToConnect) {
  VirtualClient v;
  v.memory->script("http://a.test/orders", {Scripted::redirect(303, "/receipt")});
  v.memory->script("http://a.test/receipt", {Scripted::fault(ErrorKind::connect_failure)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.method = "POST", .url = "http://a.test/orders", .body = "order=1"}, rec.callbacks());
  v.advance(30s, 10ms);
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(v.memory->attempts("http://a.test/orders"), 1) << "the POST reached the server once already";
  EXPECT_EQ(rec.error->kind, ErrorKind::connect_failure);
  EXPECT_EQ(rec.error->reason, GiveUpReason::non_idempotent);
}

TEST(ClientHardening, PostWithAnIdempotencyKeyIsRetriedAfterAFailedRedirectHop) {
  VirtualClient v;
  v.memory->script("http://a.test/orders", {Scripted::redirect(303, "/receipt")});
  v.memory->script("http://a.test/receipt", {Scripted::fault(ErrorKind::connect_failure), Scripted::ok("done")});
  Client client(v.options());
  Recorder rec;
  Request request{.method = "POST", .url = "http://a.test/orders", .body = "order=1"};
  request.headers.add("Idempotency-Key", "k-1");
  client.fetch(std::move(request), rec.callbacks());
  v.advance(30s, 10ms);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(v.memory->attempts("http://a.test/orders"), 2);
}

TEST(ClientHardening, RetryContextSaysARedirectWasFollowed) {
  struct Recording final : RetryPolicy {
    std::shared_ptr<std::vector<int>> seen = std::make_shared<std::vector<int>>();
    RetryDecision decide(const RetryContext& c) override {
      seen->push_back(c.redirects);
      return RetryDecision::stop(GiveUpReason::not_retryable);
    }
    std::unique_ptr<RetryPolicy> clone() const override { return std::make_unique<Recording>(*this); }
  };
  VirtualClient v;
  v.memory->script("http://a.test/1", {Scripted::redirect(302, "/2")});
  v.memory->script("http://a.test/2", {Scripted::redirect(302, "/3")});
  v.memory->script("http://a.test/3", {Scripted::fault(ErrorKind::connect_failure)});
  auto options = v.options();
  auto policy = std::make_shared<Recording>();
  options.retry_policy = policy;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/1"}, rec.callbacks());
  v.settle();
  EXPECT_EQ(*policy->seen, std::vector<int>{2});
}

// ---- credentials and Host stay with their origin ----------------------------------------------

TEST(ClientHardening, HostHeaderIsDroppedOnACrossOriginRedirect) {
  VirtualClient v;
  v.memory->script("http://a.test/1", {Scripted::redirect(302, "/2")});
  v.memory->script("http://a.test/2", {Scripted::redirect(302, "http://b.test/3")});
  v.memory->script("http://b.test/3", {Scripted::ok()});
  Client client(v.options());
  Recorder rec;
  Request request{.url = "http://a.test/1"};
  request.headers.add("Host", "a.test");
  client.fetch(std::move(request), rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.response);
  ASSERT_EQ(v.memory->requests("http://a.test/2").size(), 1u);
  EXPECT_EQ(v.memory->requests("http://a.test/2")[0].headers.get("Host"), "a.test") << "same origin keeps it";
  ASSERT_EQ(v.memory->requests("http://b.test/3").size(), 1u);
  EXPECT_FALSE(v.memory->requests("http://b.test/3")[0].headers.contains("Host"));
}

// ---- the body limit is about the body the user accepts -----------------------------------------

TEST(ClientHardening, ARejectedBodyOverTheLimitDoesNotChangeTheRetryDecision) {
  VirtualClient v;
  auto busy = Scripted::retry_after(503, "2");
  busy.chunks = {std::string(5 * 1024, 'e')};
  v.memory->script("http://a.test/x", {busy, Scripted::ok("fine")});
  auto options = v.options();
  options.max_body_bytes = 1024;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  v.advance(1999ms, 1ms);
  EXPECT_EQ(v.memory->attempts("http://a.test/x"), 1) << "Retry-After: 2 is honoured";
  v.advance(1ms);
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.response) << (rec.error ? rec.error->message : "");
  EXPECT_EQ(rec.response->body, "fine");
  ASSERT_EQ(rec.response->attempts.size(), 2u);
  EXPECT_EQ(rec.response->attempts[0].status, 503);
  EXPECT_EQ(rec.response->attempts[0].error, std::nullopt);
}

TEST(ClientHardening, ARedirectBodyOverTheLimitIsDroppedAndTheRedirectFollowed) {
  VirtualClient v;
  auto hop = Scripted::redirect(302, "/there");
  hop.chunks = {std::string(4096, 'r'), std::string(4096, 'r')};
  v.memory->script("http://a.test/here", {hop});
  v.memory->script("http://a.test/there", {Scripted::ok("arrived")});
  auto options = v.options();
  options.max_body_bytes = 100;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/here"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.response) << (rec.error ? rec.error->message : "");
  EXPECT_EQ(rec.response->body, "arrived");
}

TEST(ClientHardening, AnAcceptedBodyOverTheLimitStillFails) {
  VirtualClient v;
  v.memory->script("http://a.test/big", {Scripted::ok(std::string(2048, 'b'), 4)});
  auto options = v.options();
  options.max_body_bytes = 1024;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/big"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::body_too_large);
}

TEST(ClientHardening, ContentLengthOverTheLimitFailsAtTheHeadButNotForHead) {
  VirtualClient v;
  auto big = Scripted::ok("");
  big.headers.add("Content-Length", "10485760");
  big.hang = false;
  v.memory->script("http://a.test/big", {big});
  auto options = v.options();
  options.max_body_bytes = 1024;
  Client client(options);
  Recorder head;
  client.fetch({.method = "HEAD", .url = "http://a.test/big"}, head.callbacks());
  v.settle();
  ASSERT_TRUE(head.response) << "a HEAD's Content-Length describes a body that is not sent";
  Recorder get;
  client.fetch({.url = "http://a.test/big"}, get.callbacks());
  v.settle();
  ASSERT_TRUE(get.error);
  EXPECT_EQ(get.error->kind, ErrorKind::body_too_large);
}

// ---- framing: one reading of the head on every transport ---------------------------------------

Scripted answer_with_lengths(std::vector<std::string> lengths, std::string body, int status = 200) {
  auto s = Scripted::status_code(status, std::move(body));
  for (auto& l : lengths) s.headers.add("Content-Length", std::move(l));
  return s;
}

TEST(ClientFraming, ABrokenContentLengthIsNeverASuccess) {
  for (const auto& lengths : std::vector<std::vector<std::string>>{
           {"3", "5"}, {"3, 5"}, {"+0x2"}, {"5\xc5"}, {"-1"}, {""}, {"99999999999999999999999"}}) {
    VirtualClient v;
    v.memory->script("http://a.test/x", {answer_with_lengths(lengths, "hello")});
    Client client(v.options({.max_attempts = 1}));
    Recorder rec;
    client.fetch({.url = "http://a.test/x"}, rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.error) << lengths[0];
    EXPECT_EQ(rec.error->kind, ErrorKind::connection_reset) << lengths[0];
    EXPECT_NE(rec.error->message.find("invalid response"), std::string::npos) << rec.error->message;
  }
}

TEST(ClientFraming, RepeatedEqualLengthsAreOne) {
  for (const auto& lengths : std::vector<std::vector<std::string>>{{"5", "5"}, {"5, 5"}, {" 5 "}}) {
    VirtualClient v;
    v.memory->script("http://a.test/x", {answer_with_lengths(lengths, "hello")});
    Client client(v.options());
    Recorder rec;
    client.fetch({.url = "http://a.test/x"}, rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.response) << lengths[0] << ": " << (rec.error ? rec.error->message : "");
    EXPECT_EQ(rec.response->body, "hello");
  }
}

TEST(ClientFraming, ABodyShorterOrLongerThanAnnouncedIsRetriedAsAReset) {
  VirtualClient v;
  v.memory->script("http://a.test/short", {answer_with_lengths({"10"}, "hello"), Scripted::ok("whole")});
  v.memory->script("http://a.test/long", {answer_with_lengths({"2"}, "hello"), Scripted::ok("whole")});
  Client client(v.options());
  Recorder short_body;
  Recorder long_body;
  client.fetch({.url = "http://a.test/short"}, short_body.callbacks());
  client.fetch({.url = "http://a.test/long"}, long_body.callbacks());
  v.advance(1s, 10ms);
  ASSERT_TRUE(short_body.response);
  ASSERT_TRUE(long_body.response);
  EXPECT_EQ(short_body.response->attempts[0].error, ErrorKind::connection_reset);
  EXPECT_NE(short_body.response->attempts[0].message.find("5 of 10"), std::string::npos)
      << short_body.response->attempts[0].message;
  EXPECT_EQ(long_body.response->attempts[0].error, ErrorKind::connection_reset);
}

TEST(ClientFraming, AnInterimStatusIsNeverFinal) {
  for (const int status : {100, 102, 103, 101}) {
    VirtualClient v;
    v.memory->script("http://a.test/x", {Scripted::status_code(status)});
    Client client(v.options({.max_attempts = 1}));
    Recorder rec;
    client.fetch({.url = "http://a.test/x"}, rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.error) << status;
    EXPECT_EQ(rec.error->kind, ErrorKind::connection_reset) << status;
  }
}

TEST(ClientFraming, HeadAnd204IgnoreTheAnnouncedLength) {
  VirtualClient v;
  v.memory->script("http://a.test/head", {answer_with_lengths({"1000"}, "")});
  v.memory->script("http://a.test/none", {answer_with_lengths({"1000"}, "", 204)});
  Client client(v.options());
  Recorder head;
  Recorder none;
  client.fetch({.method = "HEAD", .url = "http://a.test/head"}, head.callbacks());
  client.fetch({.url = "http://a.test/none"}, none.callbacks());
  v.settle();
  EXPECT_TRUE(head.response) << (head.error ? head.error->message : "");
  EXPECT_TRUE(none.response) << (none.error ? none.error->message : "");
}

// ---- RetryContext: exactly one of error and status ----------------------------------------------

struct ContextLog final : RetryPolicy {
  struct Seen {
    std::optional<ErrorKind> error;
    std::optional<int> status;
  };
  std::shared_ptr<std::vector<Seen>> seen = std::make_shared<std::vector<Seen>>();
  DefaultRetryPolicy inner;
  RetryDecision decide(const RetryContext& c) override {
    seen->push_back({c.error, c.status});
    return inner.decide(c);
  }
  std::unique_ptr<RetryPolicy> clone() const override { return std::make_unique<ContextLog>(*this); }
};

TEST(ClientHardening, ACutBodyOfARejectedStatusIsDecidedByTheStatus) {
  VirtualClient v;
  auto cut = Scripted::status_code(404, "not here, and more to come");
  cut.error = ErrorKind::connection_reset;
  cut.fail_after_chunks = 1;
  v.memory->script("http://a.test/gone", {cut});
  auto options = v.options();
  auto log = std::make_shared<ContextLog>();
  options.retry_policy = log;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/gone"}, rec.callbacks());
  v.advance(10s, 10ms);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(v.memory->attempts("http://a.test/gone"), 1) << "a 404 is not retried because its body was cut";
  EXPECT_EQ(rec.error->kind, ErrorKind::http_status);
  EXPECT_EQ(rec.error->reason, GiveUpReason::not_retryable);
  ASSERT_EQ(log->seen->size(), 1u);
  EXPECT_EQ((*log->seen)[0].status, 404);
  EXPECT_EQ((*log->seen)[0].error, std::nullopt);
}

TEST(ClientHardening, ACutAcceptedBodyIsDecidedByTheError) {
  VirtualClient v;
  auto cut = Scripted::ok("part one|part two", 2);
  cut.error = ErrorKind::connection_reset;
  cut.fail_after_chunks = 1;
  v.memory->script("http://a.test/cut", {cut, Scripted::ok("whole")});
  auto options = v.options();
  auto log = std::make_shared<ContextLog>();
  options.retry_policy = log;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/cut"}, rec.callbacks());
  v.advance(10s, 10ms);
  ASSERT_TRUE(rec.response);
  ASSERT_EQ(log->seen->size(), 1u);
  EXPECT_EQ((*log->seen)[0].error, ErrorKind::connection_reset);
  EXPECT_EQ((*log->seen)[0].status, std::nullopt);
  EXPECT_EQ(rec.response->attempts[0].status, 200) << "the record still shows what arrived";
}

// ---- time arithmetic saturates ------------------------------------------------------------------

TEST(ClientHardening, TheLargestDurationsMeanNoLimit) {
  VirtualClient v;
  v.memory->script("http://a.test/slow", {Scripted::hanging()});
  v.memory->script("http://a.test/ok", {Scripted::ok("yes")});
  auto options = v.options();
  options.timeouts.attempt = std::chrono::nanoseconds::max();
  options.timeouts.overall = std::chrono::nanoseconds::max();
  options.timeouts.connect = std::chrono::nanoseconds::max();
  options.timeouts.stall = std::chrono::nanoseconds::max();
  Client client(options);
  Recorder ok;
  client.fetch({.url = "http://a.test/ok"}, ok.callbacks());
  Recorder slow;
  auto handle = client.fetch({.url = "http://a.test/slow"}, slow.callbacks());
  v.settle();
  ASSERT_TRUE(ok.response) << (ok.error ? ok.error->message : "");
  v.clock->advance(24h * 365);
  v.settle();
  EXPECT_EQ(slow.terminal, 0) << (slow.error ? slow.error->message : "");
  handle.cancel();
  v.settle();
  EXPECT_EQ(slow.events.back(), "cancel");
}

TEST(ClientHardening, AHugeBackoffIsAWaitNotAnImmediateRetry) {
  VirtualClient v;
  v.memory->script("http://a.test/x", {Scripted::status_code(503), Scripted::ok()});
  auto options = v.options();
  options.backoff_policy = std::make_shared<ConstantBackoff>(std::chrono::nanoseconds::max());
  Recorder rec;  // outlives the client, whose destructor cancels the waiting fetch
  Client client(options);
  client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  v.settle();
  v.clock->advance(24h * 365);
  v.settle();
  EXPECT_EQ(v.memory->attempts("http://a.test/x"), 1);
  EXPECT_EQ(rec.terminal, 0);
}

TEST(ClientHardening, AHugeBackoffWithADeadlineEndsAtOnce) {
  VirtualClient v;
  v.memory->script("http://a.test/x", {Scripted::status_code(503), Scripted::ok()});
  auto options = v.options();
  options.backoff_policy = std::make_shared<ConstantBackoff>(std::chrono::nanoseconds::max());
  options.timeouts.overall = 10s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->reason, GiveUpReason::deadline);
  EXPECT_EQ(v.memory->attempts("http://a.test/x"), 1);
}

// ---- shutdown decides every fetch, however many callbacks start ---------------------------------

TEST(ClientHardening, FetchesStartedByCallbacksDuringShutdownAllGetTheirCallback) {
  VirtualClient v;
  v.memory->script_fallback(Scripted::hanging());
  constexpr int kChain = 1500;  // more rounds than any fixed bound a shutdown loop might use
  std::atomic<int> started{0};
  std::atomic<int> ended{0};
  auto client = std::make_unique<Client>(v.options());
  Client* raw = client.get();  // unique_ptr::reset() nulls its pointer before the destructor runs
  std::function<void()> start_one;
  start_one = [&] {
    started.fetch_add(1);
    raw->fetch({.url = "http://a.test/hang"},
                  {.on_success = [&](Response) { ended.fetch_add(1); },
                   .on_failure = [&](Error) { ended.fetch_add(1); },
                   .on_cancel =
                       [&](Error) {
                         ended.fetch_add(1);
                         if (started.load() < kChain) start_one();
                       }});
  };
  start_one();
  v.settle();
  client.reset();
  EXPECT_EQ(started.load(), kChain);
  EXPECT_EQ(ended.load(), kChain) << "a fetch started during shutdown was never decided";
}

// ---- user code never runs under the operation's lock --------------------------------------------

TEST(ClientHardening, APolicyThatCancelsItsOwnFetchDoesNotDeadlock) {
  struct CancellingPolicy final : RetryPolicy {
    std::shared_ptr<FetchHandle> handle;
    RetryDecision decide(const RetryContext&) override {
      handle->cancel();
      return RetryDecision::again();
    }
    std::unique_ptr<RetryPolicy> clone() const override { return std::make_unique<CancellingPolicy>(*this); }
  };
  run_or_die("cancel() from RetryPolicy::decide", [] {
    VirtualClient v;
    v.memory->script("http://a.test/x", {Scripted::status_code(503)});
    auto options = v.options();
    auto policy = std::make_shared<CancellingPolicy>();
    policy->handle = std::make_shared<FetchHandle>();
    options.retry_policy = policy;
    Client client(options);
    Recorder rec;
    *policy->handle = client.fetch({.url = "http://a.test/x"}, rec.callbacks());
    v.advance(5s, 10ms);
    EXPECT_EQ(rec.terminal, 1);
    EXPECT_EQ(rec.events.back(), "cancel");
    EXPECT_EQ(v.memory->attempts("http://a.test/x"), 1) << "cancelled before the retry";
    // The fetch's clone of the policy holds the handle, and the handle holds the fetch: break
    // the cycle this test made.
    *policy->handle = FetchHandle{};
  });
}

// A scheduler that runs a timer at once, inside schedule_at, when it is already due — legal for a
// user's Scheduler, and what a naive event loop does.
class EagerScheduler final : public Scheduler {
 public:
  explicit EagerScheduler(std::shared_ptr<ManualScheduler> inner) : inner_(std::move(inner)) {}
  TimePoint now() const override { return inner_->now(); }
  std::chrono::system_clock::time_point system_now() const override { return inner_->system_now(); }
  TimerId schedule_at(TimePoint when, std::function<void()> task) override {
    if (when <= inner_->now()) {
      task();
      return 0;
    }
    return inner_->schedule_at(when, std::move(task));
  }
  bool cancel(TimerId id) override { return id != 0 && inner_->cancel(id); }

 private:
  std::shared_ptr<ManualScheduler> inner_;
};

TEST(ClientHardening, ASchedulerThatRunsDueTimersInlineDoesNotDeadlock) {
  run_or_die("inline timers from schedule_at", [] {
    VirtualClient v;
    v.memory->script("http://a.test/x", {Scripted::status_code(503), Scripted::ok("second")});
    auto options = v.options();
    options.backoff_policy = std::make_shared<ConstantBackoff>(0ms);
    auto eager = std::make_shared<EagerScheduler>(v.clock);
    options.scheduler = eager;
    Client client(options);
    Recorder rec;
    client.fetch({.url = "http://a.test/x"}, rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.response);
    EXPECT_EQ(rec.response->body, "second");
  });
}

// ---- the pipeline enforces the overall deadline itself -----------------------------------------

// A transport that accepts every exchange and never ends it by itself, as a transport blocked in
// a name lookup does.
class BlackHoleTransport final : public Transport {
 public:
  struct Hole final : Exchange {
    std::shared_ptr<ExchangeObserver> observer;
    std::atomic<bool> cancelled{false};
    void cancel() override { cancelled = true; }
  };
  std::shared_ptr<Exchange> start(const ExchangeSpec&, std::shared_ptr<ExchangeObserver> observer) override {
    auto hole = std::make_shared<Hole>();
    hole->observer = std::move(observer);
    std::lock_guard lock(mutex);
    holes.push_back(hole);
    return hole;
  }
  std::string_view name() const override { return "black-hole"; }
  std::mutex mutex;
  std::vector<std::shared_ptr<Hole>> holes;
};

TEST(ClientHardening, TheDeadlineEndsTheFetchWhateverTheTransportDoes) {
  VirtualClient v;
  auto hole = std::make_shared<BlackHoleTransport>();
  auto options = v.options();
  options.transport = hole;
  options.timeouts.overall = 2s;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  v.settle();
  v.advance(1999ms, 1ms);
  EXPECT_EQ(rec.terminal, 0);
  v.advance(1ms);
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::deadline_exceeded);
  EXPECT_EQ(rec.error->reason, GiveUpReason::deadline);
  ASSERT_EQ(rec.error->attempts.size(), 1u);
  EXPECT_EQ(rec.error->attempts[0].error, ErrorKind::deadline_exceeded);
  EXPECT_EQ(rec.error->attempts[0].elapsed, std::chrono::nanoseconds(2s));
  ASSERT_EQ(hole->holes.size(), 1u);
  EXPECT_TRUE(hole->holes[0]->cancelled) << "the exchange is aborted";
}

TEST(ClientHardening, TheDeadlineTimerIsCancelledWhenTheFetchEnds) {
  VirtualClient v;
  v.memory->script("http://a.test/x", {Scripted::ok()});
  auto options = v.options();
  options.timeouts.overall = 1h;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(v.clock->pending(), 0u) << "a finished fetch leaves no timer behind";
}

// ---- an InlineExecutor never runs a terminal callback inside fetch() or cancel() ----------------

class ThrowingTransport final : public Transport {
 public:
  std::shared_ptr<Exchange> start(const ExchangeSpec&, std::shared_ptr<ExchangeObserver>) override {
    throw std::runtime_error("no more exchanges");
  }
  std::string_view name() const override { return "throwing"; }
};

struct InlineClient {
  std::shared_ptr<ManualScheduler> clock = std::make_shared<ManualScheduler>();
  ClientOptions options(std::shared_ptr<Transport> transport) const {
    ClientOptions o;
    o.transport = std::move(transport);
    o.scheduler = clock;
    o.callback_executor = std::make_shared<InlineExecutor>();
    o.retry_policy = std::make_shared<DefaultRetryPolicy>(DefaultRetryPolicy::Options{.max_attempts = 1});
    o.backoff_policy = std::make_shared<ConstantBackoff>(0ms);
    return o;
  }
};

TEST(ClientHardening, InlineExecutorAndAThrowingTransportDeferTheFailure) {
  InlineClient c;
  Client client(c.options(std::make_shared<ThrowingTransport>()));
  Recorder rec;
  client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  EXPECT_EQ(rec.terminal, 0) << "on_failure ran inside fetch()";
  c.clock->run_due();
  ASSERT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.error->kind, ErrorKind::internal_error);
}

TEST(ClientHardening, InlineExecutorAndAnInvalidRequestDeferTheFailure) {
  InlineClient c;
  Client client(c.options(std::make_shared<ThrowingTransport>()));
  Recorder rec;
  client.fetch({.url = "ftp://a.test/x"}, rec.callbacks());
  EXPECT_EQ(rec.terminal, 0);
  c.clock->run_due();
  ASSERT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.error->kind, ErrorKind::invalid_request);
}

TEST(ClientHardening, InlineExecutorAndCancelDeferTheCallback) {
  InlineClient c;
  auto memory = std::make_shared<MemoryTransport>(c.clock);
  memory->script_fallback(Scripted::hanging());
  Client client(c.options(memory));
  Recorder rec;
  auto handle = client.fetch({.url = "http://a.test/x"}, rec.callbacks());
  EXPECT_EQ(rec.terminal, 0);
  EXPECT_TRUE(handle.cancel());
  EXPECT_EQ(rec.terminal, 0) << "on_cancel ran inside cancel()";
  c.clock->run_due();
  ASSERT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.events.back(), "cancel");
}

// ---- the documented defaults are the ones in force -----------------------------------------------

TEST(ClientDefaults, TimeoutsAreTenSecondsToConnectAndThirtyPerAttempt) {
  const Timeouts defaults{};
  EXPECT_EQ(defaults.connect, std::chrono::nanoseconds(10s));
  EXPECT_EQ(defaults.attempt, std::chrono::nanoseconds(30s));
  EXPECT_EQ(defaults.stall, std::nullopt);
  EXPECT_EQ(defaults.overall, std::nullopt);

  VirtualClient v;
  auto slow_connect = Scripted::ok();
  slow_connect.connect_delay = 1h;
  v.memory->script("http://a.test/connect", {slow_connect});
  v.memory->script("http://a.test/hang", {Scripted::hanging()});
  Client client(v.options({.max_attempts = 1}));
  Recorder connect;
  Recorder hang;
  client.fetch({.url = "http://a.test/connect"}, connect.callbacks());
  client.fetch({.url = "http://a.test/hang"}, hang.callbacks());
  v.settle();
  v.clock->advance(10s - 1ns);
  v.settle();
  EXPECT_EQ(connect.terminal, 0);
  v.clock->advance(1ns);
  v.settle();
  ASSERT_TRUE(connect.error);
  EXPECT_EQ(connect.error->kind, ErrorKind::connect_timeout);
  v.clock->advance(20s - 1ns);
  v.settle();
  EXPECT_EQ(hang.terminal, 0);
  v.clock->advance(1ns);
  v.settle();
  ASSERT_TRUE(hang.error);
  EXPECT_EQ(hang.error->kind, ErrorKind::attempt_timeout);
  EXPECT_EQ(hang.error->attempts[0].elapsed, std::chrono::nanoseconds(30s));
}

}  // namespace
}  // namespace fetchpipe
