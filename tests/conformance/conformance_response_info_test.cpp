// What a response says of how it came: the HTTP version of its status line and the phase
// timings each transport knows (curl all five, httplib the first byte and the total).
#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceResponseInfo : public ServerSuite {};

TEST_P(ConformanceResponseInfo, TellsTheVersionAndThePhases) {
  Runner run(GetParam());
  const auto out = run.fetch({.url = url("/fixed?key=" + test_key())});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  const Response& r = *out.response;
  EXPECT_EQ(r.http_version, "1.1");
  const PhaseTimings& t = r.timings;
  ASSERT_TRUE(t.first_byte);
  ASSERT_TRUE(t.total);
  EXPECT_GT(*t.first_byte, std::chrono::nanoseconds::zero());
  EXPECT_LE(*t.first_byte, *t.total);
  EXPECT_LT(*t.total, 60s);
  EXPECT_FALSE(t.tls_done) << "no TLS on http://";
  if (GetParam() == "curl") {
    ASSERT_TRUE(t.connected) << "a fresh connection was made";
    EXPECT_LE(*t.connected, *t.first_byte);
  } else {
    EXPECT_FALSE(t.connected) << "cpp-httplib does not show its connect phase";
    EXPECT_FALSE(t.name_resolved);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceResponseInfo, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
