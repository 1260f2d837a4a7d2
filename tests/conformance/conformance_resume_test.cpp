// A cut download continues with Range and If-Range through the real transports: the bytes the
// sink holds are exactly the resource's, and nothing is rewound.
#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceResume : public ServerSuite {};

TEST_P(ConformanceResume, ACutStreamContinuesWhereItStopped) {
  const auto key = test_key();
  Runner run(GetParam());
  const auto out = run.fetch({.url = url("/resumable?n=200000&cut=70000&key=" + key)}, /*stream=*/true,
                             /*rewind=*/false);
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.streamed.size(), 200000u);
  EXPECT_TRUE(out.streamed == expected_bytes(200000)) << "the bytes differ from the resource's";
  ASSERT_EQ(out.response->attempts.size(), 2u);
  EXPECT_EQ(out.response->attempts[1].resumed_from, 70000u);
  EXPECT_EQ(out.response->status, 206);
  EXPECT_EQ(server().count(key), 2);
}

TEST_P(ConformanceResume, EveryCutPointGivesTheExactBytes) {
  // A hundred random cut points: wherever the first response breaks, what the sink holds at the
  // end is the resource, byte for byte.
  constexpr std::size_t kSize = 50000;
  const std::string want = expected_bytes(kSize);
  // A hundred cut fetches in a row on one client would spend its retry budget: not what is tested.
  Runner run(GetParam(), [](ClientOptions& o) { o.retry_budget = no_retry_budget(); });
  std::mt19937 rng(20261201);
  for (int i = 0; i < 100; ++i) {
    const std::size_t cut = 1 + rng() % (kSize - 1);
    const auto out = run.fetch({.url = url(fmt::format("/resumable?n={}&cut={}", kSize, cut))}, true, false);
    ASSERT_EQ(out.terminal, "success") << "cut at " << cut << ": " << (out.error ? out.error->message : "");
    ASSERT_TRUE(out.streamed == want) << "cut at " << cut << ": " << out.streamed.size() << " bytes";
  }
}

TEST_P(ConformanceResume, TurnedOffEveryAttemptStartsOver) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) { o.resume = false; });
  // The endpoint cuts every request without Range: starting over never gets further.
  const auto out = run.fetch({.url = url("/resumable?n=100000&cut=30000&key=" + key)}, true, true);
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted);
  for (const auto& a : out.error->attempts) EXPECT_FALSE(a.resumed_from);
  EXPECT_EQ(std::count(out.events.begin(), out.events.end(), "rewind"), 3);
  EXPECT_EQ(server().count(key), 4);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceResume, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
