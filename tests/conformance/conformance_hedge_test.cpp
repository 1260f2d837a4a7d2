// Hedging through the real transports: the first attempt hangs at the fault server, the hedge
// answers, and the server sees the loser's connection closed (the transport aborted it for real,
// not just the pipeline forgetting it).
#include <thread>

#include "fetchpipe/policies/fixed_hedging.hpp"
#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceHedge : public ServerSuite {};

void hedge_after(ClientOptions& o, std::chrono::nanoseconds delay, int in_flight = 2) {
  o.hedging = std::make_shared<FixedHedging>(FixedHedging::Options{.delay = delay, .max_in_flight = in_flight});
  o.retry_budget = no_retry_budget();
}

template <typename Counter>
void wait_for(Counter counter, int n, std::chrono::milliseconds limit = 5s * kSlack) {
  const auto until = Clock::now() + limit;
  while (counter() < n && Clock::now() < until) std::this_thread::sleep_for(1ms);
}

TEST_P(ConformanceHedge, TheHedgeAnswersAndTheHangingAttemptIsClosed) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) { hedge_after(o, 200ms); });
  // The first request for the key hangs; every later one answers at once.
  const auto out = run.fetch({.url = url("/flaky?fault=hang&fail=1&key=" + key)});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  ASSERT_EQ(out.response->attempts.size(), 2u);
  EXPECT_EQ(out.response->attempts[0].error, ErrorKind::cancelled);
  EXPECT_TRUE(out.response->attempts[1].hedge);
  EXPECT_EQ(out.response->attempts[1].status, 200);
  EXPECT_GE(out.response->attempts[1].start - out.response->attempts[0].start, 200ms);
  EXPECT_EQ(server().count(key), 2);
  wait_for([&] { return server().aborted(key); }, 1);
  EXPECT_EQ(server().aborted(key), 1) << "the server never saw the losing attempt's connection close";
}

TEST_P(ConformanceHedge, AFastAnswerSendsNoHedge) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) { hedge_after(o, 2s); });
  const auto out = run.fetch({.url = url("/fixed?key=" + key)});
  ASSERT_EQ(out.terminal, "success");
  EXPECT_EQ(out.response->attempts.size(), 1u);
  EXPECT_EQ(server().count(key), 1);
}

TEST_P(ConformanceHedge, CancellingAHedgedFetchClosesEveryAttempt) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) { hedge_after(o, 100ms, 3); });
  auto p = run.start({.url = url("/hang?key=" + key)});
  wait_for([&] { return server().count(key); }, 3);
  ASSERT_EQ(server().count(key), 3) << "three attempts should be out (one and two hedges)";
  ASSERT_TRUE(p.handle.cancel());
  const auto out = Runner::wait(p);
  EXPECT_EQ(out.terminal, "cancel");
  wait_for([&] { return server().aborted(key); }, 3);
  EXPECT_EQ(server().aborted(key), 3);
}

TEST_P(ConformanceHedge, StreamedBytesComeFromTheWinnerOnly) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) { hedge_after(o, 200ms); });
  const auto out = run.fetch({.url = url("/flaky?fault=hang&fail=1&key=" + key)}, true);
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.streamed, "ok after 1 failures\n");
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceHedge, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
