// Every fault of the fault server through the real pipeline, on every transport. The same test
// body runs for curl and httplib; a difference in outcome is a failing test, never a skip.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_suite.hpp"
#include "loopback.hpp"

namespace fetchpipe::conformance {
namespace {

class Conformance : public ServerSuite {};


TEST_P(Conformance, FixedBody) {
  Runner run(GetParam());
  auto out = run.fetch({.url = url("/fixed")});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.response->status, 200);
  EXPECT_EQ(out.response->body, "hello from fetchpipe\n");
  EXPECT_EQ(out.response->attempts.size(), 1u);
}

TEST_P(Conformance, LargeBodyStreamsInOrderBeforeTheTerminalCallback) {
  Runner run(GetParam());
  for (const char* chunked : {"0", "1"}) {
    auto out = run.fetch({.url = url(std::string("/bytes?n=3000000&chunked=") + chunked)}, /*stream=*/true);
    ASSERT_EQ(out.terminal, "success") << chunked;
    EXPECT_TRUE(out.streamed == expected_bytes(3'000'000)) << "streamed bytes differ, chunked=" << chunked;
    EXPECT_GT(std::count(out.events.begin(), out.events.end(), "chunk"), 1);
    EXPECT_EQ(out.events.back(), "success");
    EXPECT_TRUE(out.response->body.empty());
  }
}

TEST_P(Conformance, FlakyEndpointIsHealedByRetries) {
  Runner run(GetParam());
  const auto key = test_key();
  auto out = run.fetch({.url = url("/flaky?key=" + key + "&fail=2&status=503")});
  ASSERT_EQ(out.terminal, "success");
  EXPECT_EQ(out.response->attempts.size(), 3u);
  EXPECT_EQ(out.response->attempts[0].status, 503);
  EXPECT_EQ(server().count(key), 3);
}

TEST_P(Conformance, NotRetryableStatusIsOneAttempt) {
  Runner run(GetParam());
  const auto key = test_key();
  auto out = run.fetch({.url = url("/status?code=404&key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::http_status);
  EXPECT_EQ(out.error->status, 404);
  EXPECT_EQ(out.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(server().count(key), 1);
}

TEST_P(Conformance, AttemptsExhaustedCountsAtTheServer) {
  Runner run(GetParam(), {}, {.max_attempts = 3});
  const auto key = test_key();
  auto out = run.fetch({.url = url("/status?code=503&key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(out.error->status, 503);
  EXPECT_EQ(server().count(key), 3);
}

TEST_P(Conformance, ConnectionRefusedIsConnectFailureAndRetried) {
  Runner run(GetParam(), {}, {.max_attempts = 2});
  auto out = run.fetch({.url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/x"});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::connect_failure) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(out.error->attempts.size(), 2u);
}

TEST_P(Conformance, ResetIsConnectionResetAndRetried) {
  Runner run(GetParam(), {}, {.max_attempts = 3});
  const auto key = test_key();
  auto out = run.fetch({.url = url("/reset?key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::connection_reset) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(server().count(key), 3);
}

TEST_P(Conformance, PostIsNotRetriedAfterAResetButIsAfterAConnectFailure) {
  Runner run(GetParam());
  const auto key = test_key();
  auto reset = run.fetch({.method = "POST", .url = url("/reset?key=" + key), .body = "order"});
  ASSERT_EQ(reset.terminal, "failure");
  EXPECT_EQ(reset.error->reason, GiveUpReason::non_idempotent);
  EXPECT_EQ(server().count(key), 1);
  auto refused = run.fetch({.method = "POST", .url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/",
                            .body = "order"});
  EXPECT_EQ(refused.error->kind, ErrorKind::connect_failure);
  EXPECT_EQ(refused.error->attempts.size(), 4u) << "it never left, so it is retried";
}

TEST_P(Conformance, TruncatedBodyIsConnectionReset) {
  Runner run(GetParam(), {}, {.max_attempts = 1});
  auto out = run.fetch({.url = url("/truncate?n=1000&sent=10")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::connection_reset) << out.error->message;
}

TEST_P(Conformance, RewindableSinkIsResetBeforeTheRetry) {
  Runner run(GetParam());
  const auto key = test_key();
  auto out = run.fetch({.url = url("/flaky?key=" + key + "&fail=1&fault=truncate")}, true, true);
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(server().count(key), 2);
  ASSERT_NE(std::find(out.events.begin(), out.events.end(), "rewind"), out.events.end());
  EXPECT_EQ(out.streamed, "ok after 1 failures\n") << "only the retry's bytes, after the rewind";
}

TEST_P(Conformance, NonRewindableSinkEndsCommitted) {
  Runner run(GetParam());
  const auto key = test_key();
  auto out = run.fetch({.url = url("/flaky?key=" + key + "&fail=1&fault=truncate")}, true, false);
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::connection_reset);
  EXPECT_EQ(out.error->reason, GiveUpReason::committed);
  EXPECT_EQ(server().count(key), 1);
  EXPECT_EQ(out.error->bytes_delivered, out.streamed.size());
}

TEST_P(Conformance, CancelOfAHungRequestRunsOnCancelPromptly) {
  Runner run(GetParam());
  const auto key = test_key();
  for (int i = 0; i < 5; ++i) {
    auto p = run.start({.url = url("/hang?key=" + key)});
    // Wait (bounded) until the request reached the server and hangs there.
    const auto limit = Clock::now() + 10s;
    while (server().count(key) <= i && Clock::now() < limit) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(server().count(key), i + 1);
    const auto cancelled_at = Clock::now();
    ASSERT_TRUE(p.handle.cancel());
    auto out = Runner::wait(p);
    EXPECT_EQ(out.terminal, "cancel");
    EXPECT_EQ(out.error->reason, GiveUpReason::cancelled);
    EXPECT_LT(out.ended - cancelled_at, 100ms * kSlack);
  }
}

TEST_P(Conformance, OverallDeadlineEndsAHungFetch) {
  Runner run(GetParam(), [](ClientOptions& o) { o.timeouts.overall = 500ms; });
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/hang")});
  const auto took = Clock::now() - start;
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::deadline_exceeded) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::deadline);
  EXPECT_GE(took, 480ms);
  EXPECT_LT(took, 500ms + 2s * kSlack);
}

TEST_P(Conformance, AttemptTimeoutCoversASlowBody) {
  // Bytes keep coming (every 50 ms), so only the attempt clock can end it.
  Runner run(GetParam(), [](ClientOptions& o) { o.timeouts.attempt = 400ms; }, {.max_attempts = 2});
  const auto key = test_key();
  auto out = run.fetch({.url = url("/drip?n=1000&interval_ms=50&chunk=10&key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::attempt_timeout) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(server().count(key), 2);
}

TEST_P(Conformance, StallTimeoutEndsABodyThatStops) {
  Runner run(GetParam(), [](ClientOptions& o) { o.timeouts.stall = 300ms; }, {.max_attempts = 1});
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/drip?n=100&interval_ms=2000&chunk=10")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::stall_timeout) << out.error->message;
  EXPECT_LT(Clock::now() - start, 1900ms * kSlack);
}

TEST_P(Conformance, RetryAfterIsHonoured) {
  Runner run(GetParam());
  const auto key = test_key();
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/flaky?key=" + key + "&fail=1&status=503&retry_after=1")});
  ASSERT_EQ(out.terminal, "success");
  EXPECT_GE(Clock::now() - start, 990ms);
  EXPECT_EQ(out.response->attempts[0].backoff, std::chrono::nanoseconds(1s));
}

TEST_P(Conformance, RetryAfterIsCapped) {
  Runner run(GetParam(), {}, {.retry_after_max = 300ms});
  const auto key = test_key();
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/flaky?key=" + key + "&fail=1&status=429&retry_after=30")});
  ASSERT_EQ(out.terminal, "success");
  EXPECT_LT(Clock::now() - start, 5s * kSlack);
  EXPECT_EQ(out.response->attempts[0].backoff, std::chrono::nanoseconds(300ms));
}

TEST_P(Conformance, RetryAfterPastTheDeadlineEndsAtOnce) {
  Runner run(GetParam(), [](ClientOptions& o) { o.timeouts.overall = 3s; });
  const auto key = test_key();
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/flaky?key=" + key + "&fail=1&status=503&retry_after=10")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->reason, GiveUpReason::deadline);
  EXPECT_EQ(out.error->status, 503);
  EXPECT_LT(Clock::now() - start, 2s * kSlack) << "no sleeping into a dead deadline";
  EXPECT_EQ(server().count(key), 1);
}

TEST_P(Conformance, RedirectChainIsFollowed) {
  Runner run(GetParam());
  const auto key = test_key();
  auto out = run.fetch({.url = url("/redirect?n=3&key=" + key)});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.response->body, "hello from fetchpipe\n");
  EXPECT_NE(out.response->final_url.find("/fixed"), std::string::npos) << out.response->final_url;
  EXPECT_EQ(server().count(key), 4);
}

TEST_P(Conformance, RedirectLoopHitsTheLimit) {
  Runner run(GetParam(), [](ClientOptions& o) { o.max_redirects = 5; });
  auto out = run.fetch({.url = url("/redirect-loop")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::too_many_redirects);
}

TEST_P(Conformance, NoRedirectsMeansTheRedirectIsFinal) {
  Runner run(GetParam(), [](ClientOptions& o) { o.max_redirects = 0; });
  auto out = run.fetch({.url = url("/redirect?n=1")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::http_status);
  EXPECT_EQ(out.error->status, 302);
}

TEST_P(Conformance, CredentialsStayWithTheirOrigin) {
  Runner run(GetParam());
  const Headers secrets{{"Authorization", "Bearer s3cret"}, {"Cookie", "session=1"}, {"X-Keep", "kept"}};
  auto same = run.fetch({.url = url("/redirect?n=1&to=/echo"), .headers = secrets});
  ASSERT_EQ(same.terminal, "success");
  EXPECT_NE(same.response->body.find("Bearer s3cret"), std::string::npos) << same.response->body;
  auto cross = run.fetch({.url = url("/redirect-to?url=" + server().cross_origin_url("/echo")), .headers = secrets});
  ASSERT_EQ(cross.terminal, "success") << (cross.error ? cross.error->message : "");
  EXPECT_EQ(cross.response->body.find("s3cret"), std::string::npos) << cross.response->body;
  EXPECT_EQ(cross.response->body.find("session=1"), std::string::npos) << cross.response->body;
  EXPECT_NE(cross.response->body.find("kept"), std::string::npos) << cross.response->body;
}

TEST_P(Conformance, RedirectMethodRules) {
  Runner run(GetParam());
  auto see_other = run.fetch({.method = "POST", .url = url("/redirect?n=1&code=303&to=/echo"), .body = "payload"});
  ASSERT_EQ(see_other.terminal, "success");
  EXPECT_NE(see_other.response->body.find("method GET"), std::string::npos) << see_other.response->body;
  auto temporary = run.fetch({.method = "POST", .url = url("/redirect?n=1&code=307&to=/echo"), .body = "payload"});
  ASSERT_EQ(temporary.terminal, "success");
  EXPECT_NE(temporary.response->body.find("method POST"), std::string::npos) << temporary.response->body;
  EXPECT_NE(temporary.response->body.find("payload"), std::string::npos);
}

TEST_P(Conformance, RequestIsSentAsGiven) {
  Runner run(GetParam());
  auto out = run.fetch({.method = "PUT", .url = url("/echo?x=1"), .headers = {{"X-Custom", "v1"}}, .body = "body-bytes"});
  ASSERT_EQ(out.terminal, "success");
  const auto& body = out.response->body;
  EXPECT_NE(body.find("method PUT"), std::string::npos) << body;
  EXPECT_NE(body.find("target /echo?x=1"), std::string::npos) << body;
  EXPECT_NE(body.find("X-Custom: v1"), std::string::npos) << body;
  EXPECT_NE(body.find("body-length 10"), std::string::npos) << body;
  EXPECT_NE(body.find("body-bytes"), std::string::npos) << body;
}

TEST_P(Conformance, BodySizeLimitIsEnforcedWhileStreaming) {
  Runner run(GetParam(), [](ClientOptions& o) { o.max_body_bytes = 5000; });
  for (const char* chunked : {"0", "1"}) {
    auto big = run.fetch({.url = url(std::string("/bytes?n=10000&chunked=") + chunked)});
    ASSERT_EQ(big.terminal, "failure") << chunked;
    EXPECT_EQ(big.error->kind, ErrorKind::body_too_large) << chunked << ": " << big.error->message;
    EXPECT_EQ(big.error->reason, GiveUpReason::not_retryable);
    auto exact = run.fetch({.url = url(std::string("/bytes?n=5000&chunked=") + chunked)});
    ASSERT_EQ(exact.terminal, "success") << chunked;
    EXPECT_EQ(exact.response->body.size(), 5000u);
  }
}

TEST_P(Conformance, KeepAliveServesManySequentialFetches) {
  Runner run(GetParam());
  for (int i = 0; i < 200; ++i) {
    auto out = run.fetch({.url = url("/fixed")});
    ASSERT_EQ(out.terminal, "success") << i;
  }
}

TEST_P(Conformance, ManyConcurrentDelayedFetchesAllSucceed) {
  Runner run(GetParam());
  std::vector<Runner::Pending> pending;
  for (int i = 0; i < 200; ++i) pending.push_back(run.start({.url = url("/delay?ms=20")}));
  for (auto& p : pending) EXPECT_EQ(Runner::wait(p).terminal, "success");
}

INSTANTIATE_TEST_SUITE_P(Transports, Conformance, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
