// What a rejected fetch carries (Error::response) and what one request may change of its client
// (RequestOverrides), in virtual time.
#include <gtest/gtest.h>

#include "client_harness.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

constexpr const char* kUrl = "http://svc.test/x";

Scripted problem_json() {
  auto s = Scripted::status_code(404, R"({"type":"about:blank","title":"no such order"})");
  s.headers.set("Content-Type", "application/problem+json");
  return s;
}

TEST(ClientErrorResponse, ARejectedResponseIsKeptWithItsHeadersAndBody) {
  VirtualClient v;
  v.memory->script(kUrl, {problem_json()});
  Client client(v.options());
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.settle();
  ASSERT_TRUE(r.error);
  ASSERT_TRUE(r.error->response);
  const ErrorResponse& response = *r.error->response;
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.get("Content-Type"), "application/problem+json");
  EXPECT_EQ(response.body, R"({"type":"about:blank","title":"no such order"})");
  EXPECT_FALSE(response.body_truncated);
  EXPECT_EQ(response.final_url, kUrl);
}

TEST(ClientErrorResponse, TheBodyIsBoundedByTheLimit) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(500, std::string(1000, 'e'))});
  auto options = v.options({.max_attempts = 1});
  options.error_body_limit = 10;
  Client client(options);
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.settle();
  ASSERT_TRUE(r.error && r.error->response);
  EXPECT_EQ(r.error->response->body, std::string(10, 'e'));
  EXPECT_TRUE(r.error->response->body_truncated);
}

TEST(ClientErrorResponse, AChunkCrossingTheDrainBoundStillFillsTheLimit) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(500, std::string(200 * 1024, 'e'))});  // one chunk
  Client client(v.options({.max_attempts = 1}));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.settle();
  ASSERT_TRUE(r.error && r.error->response);
  EXPECT_EQ(r.error->response->body.size(), 64u * 1024);
  EXPECT_TRUE(r.error->response->body_truncated);
}

TEST(ClientErrorResponse, ARedirectNotFollowedKeepsItsLocation) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::redirect(302, "/elsewhere")});
  auto options = v.options();
  options.max_redirects = 0;
  Client client(options);
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.settle();
  ASSERT_TRUE(r.error && r.error->response);
  EXPECT_EQ(r.error->response->status, 302);
  EXPECT_EQ(r.error->response->headers.get("Location"), "/elsewhere");
}

TEST(ClientErrorResponse, AFailureWithoutAResponseHasNone) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::fault(ErrorKind::connect_failure)});
  Client client(v.options({.max_attempts = 1}));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.settle();
  ASSERT_TRUE(r.error);
  EXPECT_FALSE(r.error->response);
}

TEST(ClientErrorResponse, TheLimitIsValidated) {
  VirtualClient v;
  auto options = v.options();
  options.error_body_limit = 65ull * 1024 * 1024;
  EXPECT_THROW({ Client client(options); }, std::invalid_argument);
}

TEST(ClientOverrides, ARequestsAttemptTimeoutReplacesTheClients) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  Client client(v.options({.max_attempts = 1}));  // the client's attempt timeout: 30 s
  Recorder r;
  Request request{.url = kUrl};
  request.overrides.attempt_timeout = 1s;
  client.fetch(request, r.callbacks());
  v.advance(1100ms, 100ms);
  ASSERT_EQ(r.terminal, 1);
  EXPECT_EQ(r.error->kind, ErrorKind::attempt_timeout);
}

TEST(ClientOverrides, ARequestsOverallTimeoutIsItsDeadline) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::hanging()});
  Client client(v.options());
  Recorder r;
  Request request{.url = kUrl};
  request.overrides.overall_timeout = 500ms;
  client.fetch(request, r.callbacks());
  v.advance(600ms, 100ms);
  ASSERT_EQ(r.terminal, 1);
  EXPECT_EQ(r.error->kind, ErrorKind::deadline_exceeded);
}

TEST(ClientOverrides, MaxAttemptsLowersAndRaisesTheDefaultPolicysLimit) {
  for (const int limit : {1, 6}) {
    VirtualClient v;
    v.memory->script(kUrl, {Scripted::status_code(503)});
    auto options = v.options();  // DefaultRetryPolicy: 4 attempts
    options.backoff_policy = std::make_shared<ConstantBackoff>(10ms);
    Client client(options);
    Recorder r;
    Request request{.url = kUrl};
    request.overrides.max_attempts = limit;
    client.fetch(request, r.callbacks());
    v.advance(1s, 10ms);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->attempts.size(), static_cast<std::size_t>(limit));
    EXPECT_EQ(r.error->reason, GiveUpReason::attempts_exhausted);
  }
}

TEST(ClientOverrides, MaxAttemptsHoldsWhateverThePolicySays) {
  struct Always : RetryPolicy {
    RetryDecision decide(const RetryContext&) override { return RetryDecision::again(); }
    std::unique_ptr<RetryPolicy> clone() const override { return std::make_unique<Always>(); }
  };
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503)});
  Client client(v.options());
  Recorder r;
  Request request{.url = kUrl};
  request.overrides.max_attempts = 2;
  request.overrides.retry_policy = std::make_shared<Always>();
  request.overrides.backoff_policy = std::make_shared<ConstantBackoff>(1ms);
  client.fetch(request, r.callbacks());
  v.advance(100ms);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->attempts.size(), 2u);
  EXPECT_EQ(r.error->reason, GiveUpReason::attempts_exhausted);
}

TEST(ClientOverrides, ARequestsPoliciesAndBodyLimitReplaceTheClients) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(404), Scripted::ok(std::string(100, 'b'))});
  Client client(v.options());
  // A policy that accepts 404 as success: the request's, not the client's, decides.
  struct Accept404 : RetryPolicy {
    RetryDecision decide(const RetryContext&) override { return RetryDecision::stop(GiveUpReason::not_retryable); }
    std::unique_ptr<RetryPolicy> clone() const override { return std::make_unique<Accept404>(); }
    bool is_success(int status) const override { return status == 404 || (status >= 200 && status < 300); }
  };
  Recorder accepted;
  Request request{.url = kUrl};
  request.overrides.retry_policy = std::make_shared<Accept404>();
  client.fetch(request, accepted.callbacks());
  v.settle();
  ASSERT_TRUE(accepted.response);
  EXPECT_EQ(accepted.response->status, 404);
  Recorder limited;
  Request small{.url = kUrl};
  small.overrides.max_body_bytes = 10;
  client.fetch(small, limited.callbacks());
  v.settle();
  ASSERT_TRUE(limited.error);
  EXPECT_EQ(limited.error->kind, ErrorKind::body_too_large);
}

TEST(ClientOverrides, ABadOverrideFailsTheFetchNamingTheFieldWithNothingSent) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::ok()});
  Client client(v.options());
  const auto check = [&](RequestOverrides o, const std::string& field) {
    Recorder r;
    Request request{.url = kUrl};
    request.overrides = std::move(o);
    client.fetch(request, r.callbacks());
    v.settle();
    ASSERT_TRUE(r.error) << field;
    EXPECT_EQ(r.error->kind, ErrorKind::invalid_request);
    EXPECT_NE(r.error->message.find(field), std::string::npos) << r.error->message;
  };
  check({.attempt_timeout = -5ms}, "overrides.attempt_timeout must be > 0, got -5ms");
  check({.connect_timeout = 0ms}, "overrides.connect_timeout");
  check({.stall_timeout = 0ms}, "overrides.stall_timeout");
  check({.overall_timeout = -1s}, "overrides.overall_timeout");
  check({.max_attempts = 0}, "overrides.max_attempts must be >= 1, got 0");
  EXPECT_EQ(v.memory->attempts(kUrl), 0);
}

}  // namespace
}  // namespace fetchpipe
