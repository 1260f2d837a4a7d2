// Resuming a cut response with Range and If-Range instead of starting over, in virtual time.
#include <gtest/gtest.h>

#include "client_harness.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

constexpr const char* kUrl = "http://svc.test/file";

// 200 with "aaaa" of "aaaabbbb", then a reset.
Scripted cut_after_first_half(std::string etag = "\"v1\"") {
  Scripted s = Scripted::ok("", 0);
  s.chunks = {"aaaa", "bbbb"};
  s.headers.set("Accept-Ranges", "bytes");
  if (!etag.empty()) s.headers.set("ETag", etag);
  s.error = ErrorKind::connection_reset;
  s.fail_after_chunks = 1;
  return s;
}

Scripted partial(std::string content_range, std::string body) {
  Scripted s = Scripted::status_code(206, std::move(body));
  s.headers.set("Content-Range", std::move(content_range));
  return s;
}

ClientOptions quick(VirtualClient& v) {
  auto o = v.options();
  o.backoff_policy = std::make_shared<ConstantBackoff>(10ms);
  return o;
}

TEST(ClientResume, ACutStreamContinuesFromTheBytesItHolds) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), partial("bytes 4-7/8", "bbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(false));  // a sink that cannot rewind
  v.advance(100ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.streamed, "aaaabbbb");
  EXPECT_EQ(std::count(r.events.begin(), r.events.end(), "rewind"), 0);
  const auto sent = v.memory->requests(kUrl);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_FALSE(sent[0].headers.get("Range"));
  EXPECT_EQ(sent[1].headers.get("Range"), "bytes=4-");
  EXPECT_EQ(sent[1].headers.get("If-Range"), "\"v1\"");
  ASSERT_EQ(r.response->attempts.size(), 2u);
  EXPECT_FALSE(r.response->attempts[0].resumed_from);
  EXPECT_EQ(r.response->attempts[1].resumed_from, 4u);
  EXPECT_EQ(r.response->status, 206);
}

TEST(ClientResume, ABufferedBodyContinuesToo) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), partial("bytes 4-7/8", "bbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.callbacks());
  v.advance(100ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.response->body, "aaaabbbb");
}

TEST(ClientResume, LastModifiedServesWhenThereIsNoStrongEtag) {
  VirtualClient v;
  auto first = cut_after_first_half("W/\"weak\"");
  first.headers.set("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT");
  v.memory->script(kUrl, {first, partial("bytes 4-7/8", "bbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(false));
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(v.memory->requests(kUrl)[1].headers.get("If-Range"), "Tue, 01 Dec 2026 10:00:00 GMT");
}

TEST(ClientResume, AChangedResourceOnASinkThatCannotRewindFailsCommitted) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), Scripted::ok("XXXXYYYY")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(false));
  v.advance(100ms);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->reason, GiveUpReason::committed);
  EXPECT_EQ(r.streamed, "aaaa") << "no byte of the new resource was mixed in";
  EXPECT_NE(r.error->message.find("resource changed"), std::string::npos) << r.error->message;
}

TEST(ClientResume, AChangedResourceRewindsASinkThatCan) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), Scripted::ok("XXXXYYYY")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(true));
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(r.streamed, "XXXXYYYY");
  EXPECT_EQ(std::count(r.events.begin(), r.events.end(), "rewind"), 1);
}

TEST(ClientResume, NothingIsResumedWithoutAValidatorOrWhenTurnedOff) {
  for (const bool validator : {false, true}) {
    VirtualClient v;
    v.memory->script(kUrl, {cut_after_first_half(validator ? "\"v1\"" : "W/\"weak\""), Scripted::ok("aaaabbbb")});
    auto options = quick(v);
    options.resume = !validator;  // with a validator, the option is what turns it off
    Client client(options);
    Recorder r;
    client.fetch({.url = kUrl}, r.streaming(true));
    v.advance(100ms);
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.streamed, "aaaabbbb");
    EXPECT_EQ(std::count(r.events.begin(), r.events.end(), "rewind"), 1);
    EXPECT_FALSE(v.memory->requests(kUrl)[1].headers.get("Range"));
  }
}

// A Range counts bytes of the encoded body; a decoding transport hands the sink decoded ones. An
// encoded response is therefore started over, never continued from the sink's byte count.
TEST(ClientResume, AnEncodedResponseIsNeverResumed) {
  VirtualClient v;
  auto encoded = cut_after_first_half();
  encoded.headers.set("Content-Encoding", "gzip");
  v.memory->script(kUrl, {encoded, Scripted::ok("aaaabbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(true));
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(r.streamed, "aaaabbbb");
  EXPECT_EQ(std::count(r.events.begin(), r.events.end(), "rewind"), 1);
  EXPECT_FALSE(v.memory->requests(kUrl)[1].headers.get("Range"));
  EXPECT_FALSE(r.response->attempts[1].resumed_from);
}

TEST(ClientResume, ARequestWithItsOwnRangeIsNeverResumed) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), Scripted::ok("aaaabbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl, .headers = {{"Range", "bytes=0-7"}}}, r.streaming(true));
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_EQ(v.memory->requests(kUrl)[1].headers.get("Range"), "bytes=0-7");
  EXPECT_FALSE(v.memory->requests(kUrl)[1].headers.get("If-Range"));
}

TEST(ClientResume, A206FromTheWrongByteIsRefusedAndTheNextAttemptStartsOver) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), partial("bytes 2-7/8", "aabbbb"), Scripted::ok("aaaabbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(true));
  v.advance(200ms);
  ASSERT_TRUE(r.response) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.streamed, "aaaabbbb");
  ASSERT_EQ(r.response->attempts.size(), 3u);
  EXPECT_EQ(r.response->attempts[1].error, ErrorKind::connection_reset);
  EXPECT_FALSE(v.memory->requests(kUrl)[2].headers.get("Range"));
}

TEST(ClientResume, TheBodyLimitCountsTheWholeResource) {
  VirtualClient v;
  v.memory->script(kUrl, {cut_after_first_half(), partial("bytes 4-7/8", "bbbb")});
  auto options = quick(v);
  options.max_body_bytes = 6;
  Client client(options);
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(false));
  v.advance(100ms);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, ErrorKind::body_too_large);
}

TEST(ClientResume, AHostileValidatorIsNotSent) {
  VirtualClient v;
  auto first = cut_after_first_half("");
  first.headers.set("Last-Modified", std::string(2000, 'x'));
  v.memory->script(kUrl, {first, Scripted::ok("aaaabbbb")});
  Client client(quick(v));
  Recorder r;
  client.fetch({.url = kUrl}, r.streaming(true));
  v.advance(100ms);
  ASSERT_TRUE(r.response);
  EXPECT_FALSE(v.memory->requests(kUrl)[1].headers.get("If-Range"));
}

}  // namespace
}  // namespace fetchpipe
