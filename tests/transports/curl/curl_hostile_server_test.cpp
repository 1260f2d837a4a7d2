// CurlTransport against servers that send legal but costly or surprising responses: obs-fold
// header floods, HEAD answers announcing huge bodies. Driven directly (no pipeline).
#include <gtest/gtest.h>

#include <string>

#include "curl_test_support.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

namespace fetchpipe {
namespace {

using namespace curl_test;


// A HEAD response carries the Content-Length a GET would have, and no body: the body limit must
// not refuse it (libcurl applies CURLOPT_MAXFILESIZE to that Content-Length).
TEST_F(CurlTransportTest, Hostile_HeadOfAHugeResourceIsNotRefusedByTheBodyLimit) {
  Call call(url("/bytes?n=10000000"));
  call.request.method = "HEAD";
  call.spec.max_body_bytes = 1024;
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << to_string(*result.error) << ": " << result.message;
  EXPECT_EQ(call.recorder->head().status, 200);
  EXPECT_EQ(call.recorder->head().headers.get("Content-Length"), "10000000");
  EXPECT_EQ(call.recorder->body(), "");
}

// The same limit still refuses a GET of that resource early, by its Content-Length.
TEST_F(CurlTransportTest, Hostile_GetOfTheSameResourceIsStillRefused) {
  Call call(url("/bytes?n=10000000"));
  call.spec.max_body_bytes = 1024;
  const auto result = call.run(transport_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(*result.error, ErrorKind::body_too_large) << result.message;
}

}  // namespace
}  // namespace fetchpipe
