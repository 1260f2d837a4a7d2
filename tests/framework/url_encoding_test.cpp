#include "fetchpipe/url_encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace fetchpipe {
namespace {

using namespace std::string_literals;

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b&c=d+e/f?g#h%i"), "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25i");
  // Bytes outside ASCII, controls and NUL are encoded byte by byte, upper-case hex.
  EXPECT_EQ(percent_encode("\xC3\xA9\r\n"s + '\0'), "%C3%A9%0D%0A%00");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(QueryString, JoinsEncodedPairsInOrder) {
  EXPECT_EQ(query_string({{"q", "fetch pipe"}, {"page", "2"}, {"q", "a&b=c"}}),
            "q=fetch%20pipe&page=2&q=a%26b%3Dc");
  EXPECT_EQ(query_string({}), "");
  EXPECT_EQ(query_string({{"", ""}}), "=");
  EXPECT_EQ(query_string({{"k\xFF", "#"}}), "k%FF=%23");
}

TEST(WithQuery, AppendsBeforeAnyFragmentWithTheRightSeparator) {
  EXPECT_EQ(with_query("http://h/p", {{"a", "1 2"}}), "http://h/p?a=1%202");
  EXPECT_EQ(with_query("http://h/p?x=1", {{"a", "b"}}), "http://h/p?x=1&a=b");
  EXPECT_EQ(with_query("http://h/p?", {{"a", "b"}}), "http://h/p?a=b");
  EXPECT_EQ(with_query("http://h/p#frag", {{"a", "b"}}), "http://h/p?a=b#frag");
  EXPECT_EQ(with_query("http://h/p?x#f?g", {{"a", "b"}}), "http://h/p?x&a=b#f?g");
  EXPECT_EQ(with_query("http://h/p", {}), "http://h/p");
}

TEST(FormEncode, FollowsTheUrlencodedSerializer) {
  // Space is '+', and only alphanumerics and * - . _ stay as they are ('~' is encoded).
  EXPECT_EQ(form_encode({{"name", "Ada Lovelace"}, {"note", "1+1=2 & ~*-._"}}),
            "name=Ada+Lovelace&note=1%2B1%3D2+%26+%7E*-._");
  EXPECT_EQ(form_encode({{"empty", ""}}), "empty=");
  EXPECT_EQ(form_encode({}), "");
}

TEST(FormRequest, IsAPostWithTheBodyAndItsContentType) {
  Request r = form_request("http://127.0.0.1:1/submit", {{"a", "b c"}});
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://127.0.0.1:1/submit");
  EXPECT_EQ(r.body, "a=b+c");
  EXPECT_EQ(r.headers.get("Content-Type"), "application/x-www-form-urlencoded");
}

}  // namespace
}  // namespace fetchpipe
