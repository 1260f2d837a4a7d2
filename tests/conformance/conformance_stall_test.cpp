// The stall timeout means the same on every transport: no response byte (head or body) for the
// stall time at any point after the request was sent ends the attempt with stall_timeout, which
// is retried like an attempt timeout. A slow but steady response is never a stall.
#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceStall : public ServerSuite {};

constexpr auto kStall = 400ms;

void use_stall(ClientOptions& o) { o.timeouts.stall = kStall; }

TEST_P(ConformanceStall, NoHeadWithinTheStallTimeIsAStallAndIsRetried) {
  Runner run(GetParam(), use_stall, {.max_attempts = 2});
  const auto key = test_key();
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/delay?ms=5000&key=" + key)});  // reads, then says nothing
  const auto took = Clock::now() - start;
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::stall_timeout) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  ASSERT_EQ(out.error->attempts.size(), 2u);
  EXPECT_EQ(out.error->attempts[0].error, ErrorKind::stall_timeout);
  EXPECT_EQ(server().count(key), 2);
  EXPECT_GE(took, 2 * kStall);
  EXPECT_LT(took, 2 * kStall + 1500ms * kSlack) << "the attempts must end at the stall, not the 5 s answer";
}

TEST_P(ConformanceStall, HeadThenSilenceIsAStall) {
  Runner run(GetParam(), use_stall, {.max_attempts = 1});
  const auto start = Clock::now();
  auto out = run.fetch({.url = url("/drip?n=100&interval_ms=3000&chunk=10")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::stall_timeout) << out.error->message;
  EXPECT_GE(Clock::now() - start, kStall);
  EXPECT_LT(Clock::now() - start, kStall + 1500ms * kSlack);
}

TEST_P(ConformanceStall, SlowFirstByteInsideTheStallTimeSucceeds) {
  Runner run(GetParam(), use_stall, {.max_attempts = 1});
  auto out = run.fetch({.url = url("/delay?ms=150")});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
}

TEST_P(ConformanceStall, SlowButSteadyDripLongerThanTheStallSucceeds) {
  // 8 pieces 100 ms apart: 800 ms in all, twice the stall time, never a 400 ms gap.
  Runner run(GetParam(), use_stall, {.max_attempts = 1});
  auto out = run.fetch({.url = url("/drip?n=80&interval_ms=100&chunk=10")});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.response->body, expected_bytes(80));
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceStall, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
