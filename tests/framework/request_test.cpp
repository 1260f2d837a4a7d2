#include "fetchpipe/request.hpp"

#include <gtest/gtest.h>

#include "fetchpipe/error.hpp"
#include "fetchpipe/headers.hpp"

namespace fetchpipe {
namespace {

TEST(Request, IdempotentMethodsPerRfc9110) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE((Request{.method = m, .url = "http://h/"}.is_idempotent())) << m;
  }
  for (const char* m : {"POST", "PATCH", "CONNECT"}) {
    EXPECT_FALSE((Request{.method = m, .url = "http://h/"}.is_idempotent())) << m;
  }
}

TEST(Request, IdempotencyKeyMakesPostIdempotent) {
  Request r{.method = "POST", .url = "http://h/", .headers = {{"idempotency-key", "k1"}}};
  EXPECT_TRUE(r.is_idempotent());
}

TEST(Request, ValidRequestPasses) {
  EXPECT_EQ(validate(Request{.url = "http://127.0.0.1:1/x", .headers = {{"X-A", "b c"}}}), std::nullopt);
}

TEST(Request, RejectsCrLfInHeaderValueNamingIt) {
  auto problem = validate(Request{.url = "http://h/", .headers = {{"X-Evil", "a\r\nInjected: 1"}}});
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("X-Evil"), std::string::npos) << *problem;
  EXPECT_NE(problem->find("\\r\\n"), std::string::npos) << *problem;
}

TEST(Request, RejectsBadHeaderNameMethodAndUrl) {
  EXPECT_TRUE(validate(Request{.url = "http://h/", .headers = {{"Bad Name", "v"}}}));
  EXPECT_TRUE(validate(Request{.url = "http://h/", .headers = {{"", "v"}}}));
  EXPECT_TRUE(validate(Request{.method = "GE T", .url = "http://h/"}));
  EXPECT_TRUE(validate(Request{.method = "", .url = "http://h/"}));
  EXPECT_TRUE(validate(Request{.url = "ftp://h/"}));
}

TEST(Headers, LooksUpWithoutRegardToCase) {
  Headers h{{"Content-Type", "text/plain"}};
  h.add("X-Multi", "1");
  h.add("x-multi", "2");
  EXPECT_EQ(h.get("content-type"), "text/plain");
  EXPECT_EQ(h.get("X-MULTI"), "1");
  h.set("X-Multi", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-multi"), "3");
  EXPECT_EQ(h.remove("CONTENT-TYPE"), 1u);
  EXPECT_FALSE(h.contains("Content-Type"));
}

TEST(ErrorKind, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(ErrorKind::circuit_open); ++i) {
    const auto kind = static_cast<ErrorKind>(i);
    EXPECT_EQ(error_kind_from_string(to_string(kind)), kind);
  }
  EXPECT_EQ(error_kind_from_string("nope"), std::nullopt);
  EXPECT_EQ(to_string(ErrorKind::circuit_open), "circuit_open");
  EXPECT_TRUE(request_never_left(ErrorKind::circuit_open));  // nothing was sent
}

TEST(GiveUpReason, FleetReasonsHaveTheirCliNames) {
  EXPECT_EQ(to_string(GiveUpReason::budget_exhausted), "budget_exhausted");
  EXPECT_EQ(to_string(GiveUpReason::circuit_open), "circuit_open");
}

// ---- fuzz regressions (issue 7; found by fuzz/request_fuzzer.cpp) ----------------------------

// Input "POST\x01hG\nE": a URL with a LF gave a two-line message, the LF copied raw into it.
TEST(Request, FuzzRegression_UrlWithLineBreakGivesOneLineMessage) {
  const auto problem = validate(Request{.method = "POST", .url = "hG\nE"});
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->find_first_of("\r\n"), std::string::npos) << *problem;
  EXPECT_NE(problem->find("hG\\nE"), std::string::npos) << *problem;
  const auto crlf = validate(Request{.url = "http://127.0.0.1/a\r\nX-Injected: 1"});
  ASSERT_TRUE(crlf.has_value());
  EXPECT_EQ(crlf->find_first_of("\r\n"), std::string::npos) << *crlf;
}

}  // namespace
}  // namespace fetchpipe
