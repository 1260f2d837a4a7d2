// Batch lines, the strict JSON reader behind them, and the names batch mode derives: every
// hostile shape gives a message, never a crash, and no name ever leaves --output-dir.
#include <gtest/gtest.h>

#include <string>

#include "batch_line.hpp"
#include "line_json.hpp"
#include "safe_name.hpp"

namespace fetchpipe::cli {
namespace {

const Request kDefaults{};

TEST(BatchLine, CommentsAndBlanksAreSkipped) {
  for (const std::string text : {"", "   ", "\r", "# a comment", "  # indented comment", "\t\r"}) {
    EXPECT_EQ(parse_batch_line(text, kDefaults).kind, BatchLineKind::skip) << text;
  }
}

TEST(BatchLine, PlainUrlTakesTheDefaults) {
  Request defaults;
  defaults.method = "PUT";
  defaults.body = "x";
  defaults.headers.add("X-A", "1");
  const auto p = parse_batch_line("  http://127.0.0.1:8080/a/b.txt?q=1\r", defaults);
  ASSERT_EQ(p.kind, BatchLineKind::job) << p.error;
  EXPECT_EQ(p.job.request.url, "http://127.0.0.1:8080/a/b.txt?q=1");
  EXPECT_EQ(p.job.request.method, "PUT");
  EXPECT_EQ(p.job.request.body, "x");
  EXPECT_EQ(p.job.request.headers.get("X-A"), "1");
  EXPECT_FALSE(p.job.output);
}

TEST(BatchLine, BadUrlIsInvalidWithTheUrl) {
  const auto p = parse_batch_line("ftp://127.0.0.1/x", kDefaults);
  EXPECT_EQ(p.kind, BatchLineKind::invalid);
  EXPECT_EQ(p.url, "ftp://127.0.0.1/x");
  EXPECT_NE(p.error.find("ftp://127.0.0.1/x"), std::string::npos) << p.error;
}

TEST(BatchLine, ObjectWithEveryMember) {
  Request defaults;
  defaults.headers.add("Accept", "text/plain");
  defaults.headers.add("X-Keep", "k");
  const auto p = parse_batch_line(
      R"({"url":"http://127.0.0.1/x","output":"d/./e/../f.bin","method":"PATCH","headers":{"Accept":"a/b","X-New":"n"},"data":"body"})",
      defaults);
  ASSERT_EQ(p.kind, BatchLineKind::job) << p.error;
  EXPECT_EQ(p.job.request.method, "PATCH");
  EXPECT_EQ(p.job.request.body, "body");
  EXPECT_EQ(p.job.request.headers.get("Accept"), "a/b");
  EXPECT_EQ(p.job.request.headers.get("X-Keep"), "k");
  EXPECT_EQ(p.job.request.headers.get("X-New"), "n");
  EXPECT_EQ(p.job.output, "d/f.bin");
}

TEST(BatchLine, DataWithoutMethodIsPost) {
  const auto p = parse_batch_line(R"({"url":"http://127.0.0.1/x","data":""})", kDefaults);
  ASSERT_EQ(p.kind, BatchLineKind::job) << p.error;
  EXPECT_EQ(p.job.request.method, "POST");
}

struct BadLine {
  std::string text;
  std::string says;  // a piece of the message
};

TEST(BatchLine, HostileLinesGiveAClearMessage) {
  const std::vector<BadLine> cases{
      {R"({"output":"a"})", "\"url\": missing"},
      {R"({"url":5})", "\"url\": expected a string, got number"},
      {R"({"url":"http://127.0.0.1/","ouput":"a"})", "unknown member \"ouput\""},
      {R"({"url":"http://127.0.0.1/","headers":[]})", "\"headers\": expected an object, got array"},
      {R"({"url":"http://127.0.0.1/","headers":{"A":1}})", "\"headers\": \"A\": expected a string"},
      {R"({"url":"http://127.0.0.1/","headers":{"A":"x\r\nB: y"}})", "CR"},
      {R"({"url":"http://127.0.0.1/","method":"GE T"})", "method"},
      {R"({"url":"http://127.0.0.1/","output":"../x"})", "\"output\": leaves --output-dir"},
      {R"({"url":"http://127.0.0.1/","output":"a/../../x"})", "leaves --output-dir"},
      {R"({"url":"http://127.0.0.1/","output":"/etc/passwd"})", "absolute path"},
      {R"({"url":"http://127.0.0.1/","output":"a\u0000b"})", "control character or NUL"},
      {R"({"url":"http://127.0.0.1/","output":"a\nb"})", "control character"},
      {R"({"url":"http://127.0.0.1/","output":"a\\b"})", "'\\'"},
      {R"({"url":"http://127.0.0.1/","output":""})", "empty"},
      {R"({"url":"http://127.0.0.1/","output":"."})", "names no file"},
      {R"({"url":"http://127.0.0.1/","output":"dir/"})", "names a directory"},
      {R"({"url":"http://127.0.0.1/","output":")" + std::string(300, 'a') + "\"}", "longer than 255"},
      {R"({"url":"http://127.0.0.1/","url":"http://127.0.0.2/"})", "duplicate member 'url'"},
      {R"({"url":"http://127.0.0.1/",})", "expected a member name"},
      {R"({"url":"http://127.0.0.1/"} x)", "unexpected text"},
      {R"({"url":"http://127.0.0.1/)", "unterminated string"},
      {R"({"url":"\ud800"})", "surrogate"},
      {"{\"url\":\"\xff\"}", "invalid UTF-8"},
      {"{\"url\":\"\xc0\xaf\"}", "invalid UTF-8"},
      {"{\"url\":\"a\tb\"}", "control character"},
      {R"({"url":"http://127.0.0.1/","data":nul})", "expected a JSON value"},
      {R"({"url":"http://127.0.0.1/","data":01})", "expected '}'"},
      {"{\"a\":" + std::string(100000, '['), "nested deeper"},
      {"{\"a\":" + [] {
         std::string s;
         for (int i = 0; i < 50000; ++i) s += "{\"a\":";
         return s;
       }(),
       "nested deeper"},
      {"{", "unexpected end"},
  };
  for (const auto& c : cases) {
    const auto p = parse_batch_line(c.text, kDefaults);
    EXPECT_EQ(p.kind, BatchLineKind::invalid) << c.text.substr(0, 200);
    EXPECT_NE(p.error.find(c.says), std::string::npos) << c.text.substr(0, 200) << " -> " << p.error;
  }
}

TEST(BatchLine, ManyMembersParseQuickly) {
  // Duplicate detection must not be quadratic: 100k members in a hostile line.
  std::string text = R"({"url":"http://127.0.0.1/","headers":{)";
  for (int i = 0; i < 100000; ++i) text += (i ? "," : "") + std::string("\"h") + std::to_string(i) + "\":\"v\"";
  text += "}}";
  const auto p = parse_batch_line(text, kDefaults);
  EXPECT_EQ(p.kind, BatchLineKind::job) << p.error.substr(0, 200);
}

TEST(LineJson, EscapesDecode) {
  const auto v = parse_line_json(R"(["a\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", -1.5e+3, true, false, null, {}])");
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->items()[0].text(), "a\"\\/\b\f\n\r\t");
  EXPECT_EQ(v->items()[1].text(), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(v->items()[2].text(), "-1.5e+3");
  EXPECT_EQ(v->items()[3].text(), "true");
  EXPECT_EQ(v->items()[4].text(), "false");
  EXPECT_EQ(v->items()[5].type(), LineJson::Type::null);
  EXPECT_TRUE(v->items()[6].is_object());
}

TEST(SafeName, FromUrl) {
  EXPECT_EQ(name_from_url("http://h/a/b.txt?x=1#f"), "b.txt");
  EXPECT_EQ(name_from_url("http://h/a/"), "index.html");
  EXPECT_EQ(name_from_url("http://h"), "index.html");
  EXPECT_EQ(name_from_url("http://h?x=/etc/passwd"), "index.html");
  EXPECT_EQ(name_from_url("http://h/a%2F..%2F..%2Fetc%2Fpasswd"), "a_.._.._etc_passwd");
  EXPECT_EQ(name_from_url("http://h/..%2f..%2fx"), "_.._x");
  EXPECT_EQ(name_from_url("http://h/%2e%2e"), "index.html");
  EXPECT_EQ(name_from_url("http://h/..."), "index.html");
  EXPECT_EQ(name_from_url("http://h/.bashrc"), "bashrc");
  EXPECT_EQ(name_from_url("http://h/a%00b%0a%7f%5cc"), "a_b___c");
  EXPECT_EQ(name_from_url("http://h/caf%C3%A9"), "caf\xc3\xa9");
  EXPECT_EQ(name_from_url("http://h/bad%FF"), "bad_");
  EXPECT_EQ(name_from_url("http://h/%"), "%");
  const std::string long_name = name_from_url("http://h/" + std::string(300, 'x'));
  EXPECT_EQ(long_name.size(), kMaxDerivedName);
  // A cut never splits a character.
  std::string accents;
  for (int i = 0; i < 150; ++i) accents += "%C3%A9";
  const std::string cut = name_from_url("http://h/x" + accents);
  EXPECT_LE(cut.size(), kMaxDerivedName);
  EXPECT_EQ(cut.size() % 2, 1u);
}

}  // namespace
}  // namespace fetchpipe::cli
