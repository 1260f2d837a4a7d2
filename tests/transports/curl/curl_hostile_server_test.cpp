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

// A head just inside the 256 KiB bound: 12 000 short fields (~125 KiB), then ~120 KiB of
// one-byte continuation lines (~30 000). Rebuilding the head per continuation line is quadratic:
// measured 0.4 s here without the fields, SECONDS with them, all on the loop thread, stalling
// every other transfer. Linear unfolding takes milliseconds.
//
// Under ASan the same head takes ~7.5 s even with linear unfolding (not investigated; libcurl,
// uninstrumented, reallocates a folded value per line for its own header store, and ASan's
// allocator makes big reallocations slow), so the bound only checks for a hang there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr auto kFoldBound = 30000ms;
#else
constexpr auto kFoldBound = 1500ms;
#endif

TEST_F(CurlTransportTest, Hostile_ObsFoldFloodIsUnfoldedInLinearTime) {
  constexpr int kFields = 12000;
  constexpr int kBytes = 120 * 1024;
  Call call(url("/folded-header?width=1&fields=" + std::to_string(kFields) + "&bytes=" + std::to_string(kBytes)),
            60s);
  const auto begin = Clock::now();
  call.exchange = transport_.start(call.spec, call.recorder);
  ASSERT_TRUE(call.recorder->done_within(60s));
  const auto result = call.recorder->wait();
  const auto took = ms_between(begin, call.recorder->completed_at());
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_LT(took, kFoldBound) << "unfolding is not linear";
  const auto head = call.recorder->head();
  EXPECT_EQ(head.headers.get("F1"), "a");
  EXPECT_EQ(head.headers.get("F" + std::to_string(kFields)), "a");
  const auto value = head.headers.get("X-Folded");
  ASSERT_TRUE(value.has_value());
  // "a" then " a" per continuation line (CR LF SP a = 4 bytes each), joined by one space.
  const std::size_t lines = kBytes / 4;
  EXPECT_EQ(value->size(), 1 + 2 * lines);
  EXPECT_EQ(value->substr(0, 7), "a a a a");
  EXPECT_EQ(value->find_first_not_of("a "), std::string_view::npos);
  EXPECT_EQ(call.recorder->body(), "folded header\n");
}

// A short fold: the pieces joined by one space, the fields before it kept.
TEST_F(CurlTransportTest, Hostile_FoldedValueIsJoinedWithOneSpace) {
  Call call(url("/folded-header?width=3&bytes=12"));
  const auto result = call.run(transport_);
  ASSERT_FALSE(result.error) << result.message;
  EXPECT_EQ(call.recorder->head().headers.get("X-Folded"), "abc abc abc");
  EXPECT_TRUE(call.recorder->head().headers.contains("Content-Type"));
}

}  // namespace
}  // namespace fetchpipe
