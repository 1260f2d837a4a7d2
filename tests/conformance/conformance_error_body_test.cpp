// A rejected response's body reaches Error::response through the real transports, bounded by
// ClientOptions::error_body_limit: a large 500 page is cut at the limit, a smaller one is whole.
#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceErrorBody : public ServerSuite {};

TEST_P(ConformanceErrorBody, ALargeErrorPageIsCutAtTheLimit) {
  const auto key = test_key();
  Runner run(GetParam(), {}, {.max_attempts = 1});
  const auto out = run.fetch({.url = url("/status?code=500&bytes=1000000&key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  ASSERT_TRUE(out.error->response);
  EXPECT_EQ(out.error->response->status, 500);
  EXPECT_EQ(out.error->response->body.size(), 64u * 1024);
  EXPECT_TRUE(out.error->response->body == expected_bytes(64 * 1024)) << "the kept bytes differ from the page's";
  EXPECT_TRUE(out.error->response->body_truncated);
  EXPECT_EQ(out.error->response->headers.get("Content-Type"), "application/octet-stream");
}

TEST_P(ConformanceErrorBody, AnErrorPageWithinTheLimitIsWhole) {
  const auto key = test_key();
  Runner run(GetParam(), [](ClientOptions& o) { o.error_body_limit = 2 * 1000 * 1000; }, {.max_attempts = 1});
  const auto out = run.fetch({.url = url("/status?code=500&bytes=1000000&key=" + key)});
  ASSERT_EQ(out.terminal, "failure");
  ASSERT_TRUE(out.error->response);
  EXPECT_EQ(out.error->response->body.size(), 1000000u);
  EXPECT_TRUE(out.error->response->body == expected_bytes(1000000)) << "the kept bytes differ from the page's";
  EXPECT_FALSE(out.error->response->body_truncated);
  EXPECT_EQ(out.error->response->final_url, url("/status?code=500&bytes=1000000&key=" + key));
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceErrorBody, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
