// The raw response head: cutting it out of the bytes cpp-httplib reads, parsing it by
// cpp-httplib's line rules, and refusing what cannot be delivered as the server sent it.
#include "raw_head.hpp"

#include <gtest/gtest.h>

#include <random>

// cpp-httplib's own decoder: exported by libcpp-httplib.so, though the split header leaves it out.
namespace httplib::detail {
std::string decode_url(const std::string& s, bool convert_plus_to_space);
}

namespace fetchpipe::detail {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(RawHeadCapture, CutsTheHeadAndDropsTheBody) {
  RawHeadCapture capture(1024);
  EXPECT_EQ(capture.feed("HTTP/1.1 302 Found\r\nLocation: ?sig=ab%2B"), RawHeadCapture::State::reading);
  EXPECT_EQ(capture.feed("c%3D\r\n\r\nbody bytes"), RawHeadCapture::State::complete);
  EXPECT_EQ(capture.head(), "HTTP/1.1 302 Found\r\nLocation: ?sig=ab%2Bc%3D\r\n\r\n");
}

TEST(RawHeadCapture, SkipsAHundredContinueLikeCppHttplib) {
  RawHeadCapture capture(1024);
  EXPECT_EQ(capture.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nA: 1\r\n\r\n"),
            RawHeadCapture::State::complete);
  EXPECT_EQ(capture.head(), "HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
}

// cpp-httplib skips exactly one line after a 100 status line: a 100 head with a field would make
// it read that blank line as the next status line and fail, so the capture names the case.
TEST(RawHeadCapture, AHundredContinueWithAFieldIsUnreadable) {
  RawHeadCapture capture(1024);
  EXPECT_EQ(capture.feed("HTTP/1.1 100 Continue\r\n"), RawHeadCapture::State::reading);
  EXPECT_EQ(capture.feed("Content-Length: 2\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            RawHeadCapture::State::unreadable_interim);
  EXPECT_EQ(capture.head(), "");
  RawHeadCapture bare_lf(1024);  // a bare LF blank line is one line too: cpp-httplib reads past it
  EXPECT_EQ(bare_lf.feed("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\r\n\r\n"), RawHeadCapture::State::complete);
}

// A server's value in an error message stays on one line and short (the messages are one line).
TEST(ShownValue, EscapesControlBytesAndCutsLongValues) {
  EXPECT_EQ(shown_value("chunked\ronHTTP/1.1"), "chunked\\x0donHTTP/1.1");
  EXPECT_EQ(shown_value(std::string_view("a\0b\n\x7f", 5)), "a\\x00b\\x0a\\x7f");
  EXPECT_EQ(shown_value("gzip"), "gzip");
  EXPECT_EQ(shown_value(std::string(200, 'x')), std::string(120, 'x') + "...");
}

TEST(RawHeadCapture, RefusesAStatusLineLongerThanItsBound) {
  const std::string reason(RawHeadCapture::kMaxStatusLine, 'a');
  RawHeadCapture partial(1 << 20);  // refused while the line is still arriving
  EXPECT_EQ(partial.feed("HTTP/1.1 503 " + reason), RawHeadCapture::State::status_line_too_long);
  RawHeadCapture whole(1 << 20);
  EXPECT_EQ(whole.feed("HTTP/1.1 503 " + reason + "\r\n\r\n"),  // complete in one read
            RawHeadCapture::State::status_line_too_long);
  RawHeadCapture within(1 << 20);
  EXPECT_EQ(within.feed("HTTP/1.1 200 " + reason.substr(100) + "\r\nA: 1\r\n\r\n"), RawHeadCapture::State::complete);
}

TEST(RawHeadCapture, StopsPastTheLimitWhileReading) {
  RawHeadCapture capture(64);
  EXPECT_EQ(capture.feed("HTTP/1.1 200 OK\r\n"), RawHeadCapture::State::reading);
  for (int i = 0; i < 2; ++i) capture.feed("X-Line: 0123456789\r\n");
  EXPECT_EQ(capture.feed("X-Line: 0123456789\r\n"), RawHeadCapture::State::too_large);
  EXPECT_EQ(capture.head(), "");
}

TEST(HttplibDecoded, DecodesLikeCppHttplib) {
  EXPECT_EQ(httplib_decoded("ab%2Bc%3D"), "ab+c=");
  EXPECT_EQ(httplib_decoded("%2F%2Fevil/x"), "//evil/x");
  EXPECT_EQ(httplib_decoded("%u00e9%zz%4"), "\xC3\xA9%zz%4");
  EXPECT_EQ(httplib_decoded("a+b"), "a+b");
}

TEST(HttplibDecoded, AgreesWithCppHttplibOnRandomValues) {
  // The cross-check in faithful_head() is only as good as this agreement.
  std::mt19937 random(17);
  const std::string alphabet = "%uU0123456789abcdefABCDEFxz+ /";
  for (int i = 0; i < 100000; ++i) {
    std::string value;
    const auto length = random() % 12;
    for (std::size_t k = 0; k < length; ++k) value += alphabet[random() % alphabet.size()];
    ASSERT_EQ(httplib_decoded(value), httplib::detail::decode_url(value, false)) << value;
  }
}

TEST(FaithfulHead, DeliversRawValuesInWireOrder) {
  const std::string raw = "HTTP/1.1 302 Found\r\nZ: 1\r\nLocation: %2F%2Fevil/x\r\n\r\n";
  // cpp-httplib's view: decoded, sorted by name.
  const auto out = faithful_head(raw, 302, Fields{{"Location", "//evil/x"}, {"Z", "1"}});
  ASSERT_TRUE(out.head) << out.refusal;
  EXPECT_EQ(out.head->headers.get("Location"), "%2F%2Fevil/x");
}

TEST(FaithfulHead, RefusesWhatDiffersFromCppHttplibsParse) {
  const std::string raw = "HTTP/1.1 200 OK\r\nA: 1\r\n\r\n";
  EXPECT_FALSE(faithful_head(raw, 201, Fields{{"A", "1"}}).head);
  EXPECT_FALSE(faithful_head(raw, 200, Fields{{"A", "2"}}).head);
  EXPECT_FALSE(faithful_head(raw, 200, Fields{}).head);
  EXPECT_FALSE(faithful_head("", 200, Fields{{"A", "1"}}).head);
}

TEST(FaithfulHead, RefusesAFramingFieldCppHttplibDecoded) {
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 1%30\r\n\r\n";
  const auto out = faithful_head(raw, 200, Fields{{"Content-Length", "10"}});
  EXPECT_FALSE(out.head);
  EXPECT_NE(out.refusal.find("Content-Length"), std::string::npos) << out.refusal;
}

}  // namespace
}  // namespace fetchpipe::detail
