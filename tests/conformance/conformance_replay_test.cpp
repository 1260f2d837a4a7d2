// A non-idempotent request reaches the server at most once per attempt the user is shown.
//
// libcurl re-sends a request by itself, body included, when a REUSED keep-alive connection closes
// after the request was written and before any response byte (its retry for connections the
// server dropped while idle). For a POST that is a duplicate side effect the attempt records
// never show. The server here reads the POST and closes without answering, on a connection the
// client had kept alive from an earlier GET.
#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceReplay : public ServerSuite {};

TEST_P(ConformanceReplay, PostOnAKeptAliveConnectionThatDiesIsSentOnce) {
  // One connection at a time, so the POST would be offered the GET's idle connection.
  Runner run(GetParam());
  const auto key = test_key();
  for (int round = 0; round < 3; ++round) {
    auto warm = run.fetch({.url = url("/fixed")});
    ASSERT_EQ(warm.terminal, "success") << "round " << round;
    auto out = run.fetch({.method = "POST", .url = url("/close-after-read?key=" + key), .body = "order"});
    ASSERT_EQ(out.terminal, "failure");
    EXPECT_EQ(out.error->kind, ErrorKind::connection_reset) << out.error->message;
    EXPECT_EQ(out.error->reason, GiveUpReason::non_idempotent);
    ASSERT_EQ(out.error->attempts.size(), 1u);
    EXPECT_EQ(out.error->attempts[0].error, ErrorKind::connection_reset);
    EXPECT_EQ(server().count(key), round + 1) << "the server saw the POST more often than the attempts show";
  }
}

TEST_P(ConformanceReplay, PostWithAnIdempotencyKeyMayBeRetried) {
  // With an Idempotency-Key the request is idempotent: the pipeline retries it, and each attempt
  // the records show is one request at the server (whatever the transport does underneath, the
  // count is never below the attempts).
  Runner run(GetParam(), {}, {.max_attempts = 2});
  const auto key = test_key();
  auto out = run.fetch({.method = "POST",
                        .url = url("/close-after-read?key=" + key),
                        .headers = {{"Idempotency-Key", "k-1"}},
                        .body = "order"});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::connection_reset) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(out.error->attempts.size(), 2u);
  EXPECT_GE(server().count(key), 2);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceReplay, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
