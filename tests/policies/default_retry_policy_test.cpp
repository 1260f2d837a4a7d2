#include "fetchpipe/policies/default_retry_policy.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using ::testing::HasSubstr;

const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days{std::chrono::year{2026} / 3 / 15} + 12h;

// Built field by field: the framework's value types leave some members without initializers,
// and GCC's -Wmissing-field-initializers flags designated initializers that skip them.
Request make_request(std::string method, Headers headers = {}) {
  Request request;
  request.method = std::move(method);
  request.url = "http://example.test/resource";
  request.headers = std::move(headers);
  if (request.method == "POST" || request.method == "PATCH") request.body = "{}";
  return request;
}

const Request kGet = make_request("GET");
const Request kPost = make_request("POST");
const Request kPatch = make_request("PATCH");
const Request kKeyedPost = make_request("POST", {{"Idempotency-Key", "order-42"}});

RetryContext make_context(const Request* request, int attempt, std::optional<ErrorKind> error,
                          std::optional<int> status, const Headers* headers = nullptr) {
  RetryContext context;
  context.request = request;
  context.attempt = attempt;
  context.error = error;
  context.status = status;
  context.response_headers = headers;
  context.system_now = kNow;
  return context;
}

RetryContext error_context(const Request& request, ErrorKind kind, int attempt = 1) {
  return make_context(&request, attempt, kind, std::nullopt);
}

RetryContext status_context(const Request& request, int status, int attempt = 1,
                            const Headers* headers = nullptr) {
  return make_context(&request, attempt, std::nullopt, status, headers);
}

void expect_retry(const RetryDecision& d, std::string_view what) {
  EXPECT_TRUE(d.retry) << what << ": stopped with " << to_string(d.reason);
  EXPECT_EQ(d.reason, GiveUpReason::none) << what;
}

void expect_stop(const RetryDecision& d, GiveUpReason reason, std::string_view what) {
  EXPECT_FALSE(d.retry) << what;
  EXPECT_EQ(d.reason, reason) << what << ": " << to_string(d.reason);
  EXPECT_EQ(d.server_delay, std::nullopt) << what;
}

std::string construction_error(const DefaultRetryPolicy::Options& options) {
  try {
    DefaultRetryPolicy policy(options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

// --- what is retried --------------------------------------------------------------------------

TEST(DefaultRetryPolicy, RetriesEachDefaultStatus) {
  DefaultRetryPolicy policy;
  for (const int status : {408, 429, 500, 502, 503, 504}) {
    const auto d = policy.decide(status_context(kGet, status));
    expect_retry(d, std::to_string(status));
    EXPECT_EQ(d.server_delay, std::nullopt);
  }
}

TEST(DefaultRetryPolicy, RetriesEachDefaultError) {
  DefaultRetryPolicy policy;
  for (const ErrorKind kind : {ErrorKind::dns_failure, ErrorKind::connect_failure,
                               ErrorKind::connect_timeout, ErrorKind::connection_reset,
                               ErrorKind::attempt_timeout, ErrorKind::stall_timeout}) {
    expect_retry(policy.decide(error_context(kGet, kind)), to_string(kind));
  }
}

TEST(DefaultRetryPolicy, DoesNotRetryOtherStatuses) {
  DefaultRetryPolicy policy;
  for (const int status : {400, 401, 403, 404, 409, 413, 501, 505, 302}) {
    expect_stop(policy.decide(status_context(kGet, status)), GiveUpReason::not_retryable,
                std::to_string(status));
  }
}

TEST(DefaultRetryPolicy, DoesNotRetryOtherErrors) {
  DefaultRetryPolicy policy;
  for (const ErrorKind kind : {ErrorKind::tls_failure, ErrorKind::body_too_large,
                               ErrorKind::too_many_redirects, ErrorKind::invalid_request,
                               ErrorKind::deadline_exceeded, ErrorKind::cancelled,
                               ErrorKind::internal_error, ErrorKind::http_status,
                               ErrorKind::circuit_open}) {
    expect_stop(policy.decide(error_context(kGet, kind)), GiveUpReason::not_retryable,
                to_string(kind));
  }
}

TEST(DefaultRetryPolicy, OutcomeWithNeitherErrorNorStatusIsNotRetryable) {
  DefaultRetryPolicy policy;
  expect_stop(policy.decide(make_context(&kGet, 1, std::nullopt, std::nullopt)), GiveUpReason::not_retryable,
              "empty context");
}

TEST(DefaultRetryPolicy, CustomSetsReplaceTheDefaults) {
  DefaultRetryPolicy policy({.retry_on_statuses = {404}, .retry_on_errors = {ErrorKind::tls_failure}});
  expect_retry(policy.decide(status_context(kGet, 404)), "404");
  expect_retry(policy.decide(error_context(kGet, ErrorKind::tls_failure)), "tls_failure");
  expect_stop(policy.decide(status_context(kGet, 503)), GiveUpReason::not_retryable, "503");
  expect_stop(policy.decide(error_context(kGet, ErrorKind::connection_reset)),
              GiveUpReason::not_retryable, "reset");
}

// --- attempts ---------------------------------------------------------------------------------

TEST(DefaultRetryPolicy, StopsWhenAttemptsAreExhausted) {
  DefaultRetryPolicy policy;  // max_attempts 4
  expect_retry(policy.decide(status_context(kGet, 503, 3)), "attempt 3");
  expect_stop(policy.decide(status_context(kGet, 503, 4)), GiveUpReason::attempts_exhausted,
              "attempt 4");
  expect_stop(policy.decide(error_context(kGet, ErrorKind::connection_reset, 4)),
              GiveUpReason::attempts_exhausted, "attempt 4 reset");
  expect_stop(policy.decide(status_context(kGet, 503, 9)), GiveUpReason::attempts_exhausted,
              "attempt 9");
}

TEST(DefaultRetryPolicy, NonRetryableOutcomeOnLastAttemptSaysNotRetryable) {
  DefaultRetryPolicy policy;
  expect_stop(policy.decide(status_context(kGet, 404, 4)), GiveUpReason::not_retryable, "404");
  expect_stop(policy.decide(error_context(kGet, ErrorKind::tls_failure, 4)),
              GiveUpReason::not_retryable, "tls");
}

TEST(DefaultRetryPolicy, OneAttemptNeverRetries) {
  DefaultRetryPolicy policy({.max_attempts = 1});
  expect_stop(policy.decide(status_context(kGet, 503)), GiveUpReason::attempts_exhausted, "503");
}

TEST(DefaultRetryPolicy, ExhaustionIsReportedBeforeNonIdempotence) {
  DefaultRetryPolicy policy({.max_attempts = 2});
  expect_stop(policy.decide(status_context(kPost, 503, 2)), GiveUpReason::attempts_exhausted,
              "POST 503 on the last attempt");
}

// --- idempotency ------------------------------------------------------------------------------

TEST(DefaultRetryPolicy, PostIsNotRetriedWhenItMayHaveBeenReceived) {
  DefaultRetryPolicy policy;
  expect_stop(policy.decide(error_context(kPost, ErrorKind::connection_reset)),
              GiveUpReason::non_idempotent, "reset");
  expect_stop(policy.decide(error_context(kPost, ErrorKind::attempt_timeout)),
              GiveUpReason::non_idempotent, "attempt timeout");
  expect_stop(policy.decide(status_context(kPost, 503)), GiveUpReason::non_idempotent, "503");
  expect_stop(policy.decide(status_context(kPatch, 503)), GiveUpReason::non_idempotent, "PATCH 503");
}

TEST(DefaultRetryPolicy, PostIsRetriedWhenItNeverLeft) {
  DefaultRetryPolicy policy;
  for (const ErrorKind kind :
       {ErrorKind::connect_failure, ErrorKind::connect_timeout, ErrorKind::dns_failure}) {
    expect_retry(policy.decide(error_context(kPost, kind)), to_string(kind));
  }
}

TEST(DefaultRetryPolicy, PostWithIdempotencyKeyIsRetried) {
  DefaultRetryPolicy policy;
  expect_retry(policy.decide(error_context(kKeyedPost, ErrorKind::connection_reset)), "reset");
  expect_retry(policy.decide(status_context(kKeyedPost, 503)), "503");
}

TEST(DefaultRetryPolicy, IdempotentMethodsAreRetried) {
  DefaultRetryPolicy policy;
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    const Request request = make_request(method);
    expect_retry(policy.decide(error_context(request, ErrorKind::connection_reset)), method);
  }
}

TEST(DefaultRetryPolicy, RetryNonIdempotentOptsIn) {
  DefaultRetryPolicy policy({.retry_non_idempotent = true});
  expect_retry(policy.decide(error_context(kPost, ErrorKind::connection_reset)), "POST reset");
  expect_retry(policy.decide(status_context(kPatch, 503)), "PATCH 503");
}

TEST(DefaultRetryPolicy, MissingRequestCountsAsNonIdempotent) {
  DefaultRetryPolicy policy;
  expect_stop(policy.decide(make_context(nullptr, 1, std::nullopt, 503)), GiveUpReason::non_idempotent,
              "no request, 503");
  expect_retry(policy.decide(make_context(nullptr, 1, ErrorKind::connect_failure, std::nullopt)),
               "no request, connect failure");
}

// --- Retry-After ------------------------------------------------------------------------------

TEST(DefaultRetryPolicy, RetryAfterSecondsBecomeTheServerDelay) {
  DefaultRetryPolicy policy;
  const Headers headers{{"Retry-After", "7"}};
  const auto d = policy.decide(status_context(kGet, 503, 1, &headers));
  expect_retry(d, "503 with Retry-After");
  EXPECT_EQ(d.server_delay, nanoseconds{7s});
}

TEST(DefaultRetryPolicy, RetryAfterDateIsMeasuredFromSystemNow) {
  DefaultRetryPolicy policy;
  const Headers headers{{"retry-after", "Sun, 15 Mar 2026 12:00:30 GMT"}};
  const auto d = policy.decide(status_context(kGet, 429, 1, &headers));
  expect_retry(d, "429 with a date");
  EXPECT_EQ(d.server_delay, nanoseconds{30s});
}

TEST(DefaultRetryPolicy, RetryAfterIsCappedAtRetryAfterMax) {
  const Headers headers{{"Retry-After", "3600"}};
  DefaultRetryPolicy defaults;
  EXPECT_EQ(defaults.decide(status_context(kGet, 503, 1, &headers)).server_delay, nanoseconds{60s});
  DefaultRetryPolicy tight({.retry_after_max = 5s});
  EXPECT_EQ(tight.decide(status_context(kGet, 503, 1, &headers)).server_delay, nanoseconds{5s});
  DefaultRetryPolicy zero({.retry_after_max = 0s});
  EXPECT_EQ(zero.decide(status_context(kGet, 503, 1, &headers)).server_delay, nanoseconds{0s});
}

TEST(DefaultRetryPolicy, RetryAfterIsIgnoredWhenNotHonoured) {
  DefaultRetryPolicy policy({.honor_retry_after = false});
  const Headers headers{{"Retry-After", "7"}};
  const auto d = policy.decide(status_context(kGet, 503, 1, &headers));
  expect_retry(d, "503");
  EXPECT_EQ(d.server_delay, std::nullopt);
}

TEST(DefaultRetryPolicy, GarbageRetryAfterGivesNoServerDelay) {
  DefaultRetryPolicy policy;
  for (const char* value : {"soon", "-5", "1.5", "", "12abc"}) {
    const Headers headers{{"Retry-After", value}};
    const auto d = policy.decide(status_context(kGet, 503, 1, &headers));
    expect_retry(d, value);
    EXPECT_EQ(d.server_delay, std::nullopt) << value;
  }
}

TEST(DefaultRetryPolicy, RetryAfterDoesNotMakeAnOutcomeRetryable) {
  DefaultRetryPolicy policy;
  const Headers headers{{"Retry-After", "7"}};
  expect_stop(policy.decide(status_context(kGet, 404, 1, &headers)), GiveUpReason::not_retryable,
              "404");
  expect_stop(policy.decide(status_context(kGet, 503, 4, &headers)),
              GiveUpReason::attempts_exhausted, "503 last attempt");
  expect_stop(policy.decide(status_context(kPost, 503, 1, &headers)), GiveUpReason::non_idempotent,
              "POST 503");
}

TEST(DefaultRetryPolicy, RetryAfterNeedsAResponseStatus) {
  DefaultRetryPolicy policy;
  const Headers headers{{"Retry-After", "7"}};
  RetryContext context = error_context(kGet, ErrorKind::connection_reset);
  context.response_headers = &headers;
  const auto d = policy.decide(context);
  expect_retry(d, "reset");
  EXPECT_EQ(d.server_delay, std::nullopt);
}

// --- clone, options, validation ---------------------------------------------------------------

TEST(DefaultRetryPolicy, CloneDecidesTheSameAndOutlivesThePrototype) {
  auto prototype = std::make_unique<DefaultRetryPolicy>(
      DefaultRetryPolicy::Options{.max_attempts = 2, .retry_on_statuses = {418}});
  auto cloned = prototype->clone();
  ASSERT_NE(cloned.get(), prototype.get());
  prototype.reset();
  expect_retry(cloned->decide(status_context(kGet, 418, 1)), "418");
  expect_stop(cloned->decide(status_context(kGet, 418, 2)), GiveUpReason::attempts_exhausted, "418");
  expect_stop(cloned->decide(status_context(kGet, 503, 1)), GiveUpReason::not_retryable, "503");
}

TEST(DefaultRetryPolicy, DefaultsMatchTheDesign) {
  const DefaultRetryPolicy policy;
  const auto& o = policy.options();
  EXPECT_EQ(o.max_attempts, 4);
  EXPECT_EQ(o.retry_on_statuses, (std::set<int>{408, 429, 500, 502, 503, 504}));
  EXPECT_EQ(o.retry_on_errors.size(), 6U);
  EXPECT_FALSE(o.retry_non_idempotent);
  EXPECT_TRUE(o.honor_retry_after);
  EXPECT_EQ(o.retry_after_max, nanoseconds{60s});
  EXPECT_TRUE(policy.is_success(200));
  EXPECT_FALSE(policy.is_success(304));
}

TEST(DefaultRetryPolicy, ValidationNamesFieldAndValue) {
  EXPECT_THAT(construction_error({.max_attempts = 0}),
              HasSubstr("DefaultRetryPolicy: max_attempts must be >= 1, got 0"));
  EXPECT_THAT(construction_error({.max_attempts = -3}), HasSubstr("max_attempts must be >= 1, got -3"));
  EXPECT_THAT(construction_error({.retry_on_statuses = {503, 600}}),
              HasSubstr("retry_on_statuses must hold codes in 100..599, got 600"));
  EXPECT_THAT(construction_error({.retry_on_statuses = {99}}), HasSubstr("got 99"));
  EXPECT_THAT(construction_error({.retry_after_max = -1s}),
              HasSubstr("retry_after_max must be >= 0, got -1s"));
  for (const ErrorKind kind :
       {ErrorKind::invalid_request, ErrorKind::deadline_exceeded, ErrorKind::cancelled}) {
    EXPECT_THAT(construction_error({.retry_on_errors = {ErrorKind::connection_reset, kind}}),
                HasSubstr("retry_on_errors cannot hold " + std::string(to_string(kind))));
  }
}

TEST(DefaultRetryPolicy, BoundaryOptionsAreAccepted) {
  EXPECT_EQ(construction_error({.max_attempts = 1, .retry_on_statuses = {100, 599}, .retry_on_errors = {},
                                .retry_after_max = 0s}),
            "<no exception>");
}

// --- parse_retry_on ---------------------------------------------------------------------------

TEST(ParseRetryOn, TheCliDefaultReproducesTheDefaults) {
  DefaultRetryPolicy::Options parsed{.retry_on_statuses = {}, .retry_on_errors = {}};
  parse_retry_on("connect,reset,timeout,408,429,500,502,503,504", parsed);
  const DefaultRetryPolicy::Options defaults;
  EXPECT_EQ(parsed.retry_on_statuses, defaults.retry_on_statuses);
  EXPECT_EQ(parsed.retry_on_errors, defaults.retry_on_errors);
}

TEST(ParseRetryOn, WordsExpandToTheirErrorKinds) {
  DefaultRetryPolicy::Options o;
  parse_retry_on("connect", o);
  EXPECT_EQ(o.retry_on_errors, (std::set<ErrorKind>{ErrorKind::dns_failure, ErrorKind::connect_failure,
                                                     ErrorKind::connect_timeout}));
  EXPECT_TRUE(o.retry_on_statuses.empty());
  parse_retry_on("reset", o);
  EXPECT_EQ(o.retry_on_errors, std::set<ErrorKind>{ErrorKind::connection_reset});
  parse_retry_on("timeout", o);
  EXPECT_EQ(o.retry_on_errors,
            (std::set<ErrorKind>{ErrorKind::attempt_timeout, ErrorKind::stall_timeout}));
}

TEST(ParseRetryOn, FiveXxMeansEveryServerError) {
  DefaultRetryPolicy::Options o;
  parse_retry_on("5xx,429", o);
  EXPECT_EQ(o.retry_on_statuses.size(), 101U);
  EXPECT_TRUE(o.retry_on_statuses.contains(500));
  EXPECT_TRUE(o.retry_on_statuses.contains(599));
  EXPECT_TRUE(o.retry_on_statuses.contains(429));
  EXPECT_FALSE(o.retry_on_statuses.contains(499));
  EXPECT_TRUE(o.retry_on_errors.empty());
}

TEST(ParseRetryOn, ItemsAreTrimmedAndDuplicatesMerge) {
  DefaultRetryPolicy::Options o;
  parse_retry_on(" 503 ,\treset , 503,100,599 ", o);
  EXPECT_EQ(o.retry_on_statuses, (std::set<int>{100, 503, 599}));
  EXPECT_EQ(o.retry_on_errors, std::set<ErrorKind>{ErrorKind::connection_reset});
}

TEST(ParseRetryOn, ParsedListBuildsAWorkingPolicy) {
  DefaultRetryPolicy::Options o;
  parse_retry_on("404,connect", o);
  DefaultRetryPolicy policy(o);
  expect_retry(policy.decide(status_context(kGet, 404)), "404");
  expect_stop(policy.decide(status_context(kGet, 503)), GiveUpReason::not_retryable, "503");
}

std::string retry_on_error(std::string_view list) {
  DefaultRetryPolicy::Options o;
  try {
    parse_retry_on(list, o);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(ParseRetryOn, UnknownItemIsNamed) {
  EXPECT_EQ(retry_on_error("503,foo"),
            "--retry-on: unknown item 'foo' (expected a status code, 5xx, connect, reset or timeout)");
  EXPECT_THAT(retry_on_error("4xx"), HasSubstr("unknown item '4xx'"));
  EXPECT_THAT(retry_on_error("-1"), HasSubstr("unknown item '-1'"));
  EXPECT_THAT(retry_on_error("Connect"), HasSubstr("unknown item 'Connect'"));
  EXPECT_THAT(retry_on_error("503 504"), HasSubstr("unknown item '503 504'"));
}

TEST(ParseRetryOn, OutOfRangeStatusIsNamed) {
  EXPECT_THAT(retry_on_error("600"), HasSubstr("'600'"));
  EXPECT_THAT(retry_on_error("99"), HasSubstr("'99'"));
  EXPECT_THAT(retry_on_error("0"), HasSubstr("'0'"));
  EXPECT_THAT(retry_on_error("99999999999999999999"), HasSubstr("'99999999999999999999'"));
}

TEST(ParseRetryOn, EmptyListOrItemIsRejected) {
  EXPECT_THAT(retry_on_error(""), HasSubstr("--retry-on: empty list"));
  EXPECT_THAT(retry_on_error("  "), HasSubstr("--retry-on: empty list"));
  EXPECT_THAT(retry_on_error("503,,504"), HasSubstr("--retry-on: empty item in '503,,504'"));
  EXPECT_THAT(retry_on_error("503,"), HasSubstr("empty item"));
  EXPECT_THAT(retry_on_error(",503"), HasSubstr("empty item"));
  EXPECT_THAT(retry_on_error("503, ,504"), HasSubstr("empty item"));
}

TEST(ParseRetryOn, BadListLeavesOptionsUntouched) {
  DefaultRetryPolicy::Options o;
  EXPECT_THROW(parse_retry_on("404,foo", o), std::invalid_argument);
  EXPECT_EQ(o.retry_on_statuses, DefaultRetryPolicy::Options{}.retry_on_statuses);
  EXPECT_EQ(o.retry_on_errors, DefaultRetryPolicy::Options{}.retry_on_errors);
}

}  // namespace
}  // namespace fetchpipe

namespace fetchpipe {
namespace {

TEST(DefaultRetryPolicyAccepts, AnyTwoHundredByDefault) {
  const DefaultRetryPolicy policy;
  EXPECT_TRUE(policy.is_success(200));
  EXPECT_TRUE(policy.is_success(299));
  EXPECT_FALSE(policy.is_success(404));
  EXPECT_FALSE(policy.is_success(199));
}

TEST(DefaultRetryPolicyAccepts, ExactlyTheGivenStatuses) {
  DefaultRetryPolicy::Options options;
  options.accept_statuses = std::set<int>{200, 404};
  const DefaultRetryPolicy policy(options);
  EXPECT_TRUE(policy.is_success(200));
  EXPECT_TRUE(policy.is_success(404));
  EXPECT_FALSE(policy.is_success(201));
  EXPECT_TRUE(policy.clone()->is_success(404));
}

TEST(DefaultRetryPolicyAccepts, RejectsAnEmptySetAndCodesOutOfRange) {
  DefaultRetryPolicy::Options options;
  options.accept_statuses = std::set<int>{};
  EXPECT_THAT([&] { DefaultRetryPolicy p(options); }, ::testing::ThrowsMessage<std::invalid_argument>(
                                                         ::testing::HasSubstr("accept_statuses")));
  options.accept_statuses = std::set<int>{200, 600};
  EXPECT_THAT([&] { DefaultRetryPolicy p(options); },
              ::testing::ThrowsMessage<std::invalid_argument>(::testing::HasSubstr("got 600")));
}

}  // namespace
}  // namespace fetchpipe
