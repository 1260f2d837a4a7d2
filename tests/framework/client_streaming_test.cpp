// Streaming: order, what is streamed, and the commit rule.
#include <gtest/gtest.h>

#include "client_harness.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

constexpr const char* kUrl = "http://svc.test/stream";

TEST(ClientStreaming, ChunksArriveInOrderBeforeTheTerminalCallback) {
  VirtualClient v;
  auto answer = Scripted::ok("abcdefghijklmnopqrstuvwxyz", 26);
  answer.chunk_interval = 10ms;
  v.memory->script(kUrl, {answer});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.streaming(false));
  v.advance(1s);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.streamed, "abcdefghijklmnopqrstuvwxyz");
  EXPECT_TRUE(rec.response->body.empty()) << "streamed bodies are not buffered too";
  EXPECT_EQ(rec.response->body_bytes, 26u);
  EXPECT_EQ(rec.events.back(), "success");
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "chunk"), 26);
}

TEST(ClientStreaming, RetriedAndRejectedBodiesAreNeverStreamed) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::status_code(503, "overloaded"), Scripted::status_code(404, "missing")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.streaming(false));
  v.advance(1s);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->status, 404);
  EXPECT_TRUE(rec.streamed.empty());
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "chunk"), 0);
}

Scripted reset_after_two_chunks() {
  auto s = Scripted::ok("aabbcc", 3);
  s.error = ErrorKind::connection_reset;
  s.fail_after_chunks = 2;
  return s;
}

TEST(ClientStreaming, NonRewindableSinkMakesTheFetchCommitted) {
  VirtualClient v;
  v.memory->script(kUrl, {reset_after_two_chunks(), Scripted::ok("fresh")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.streaming(false));
  v.advance(1s);
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::connection_reset);
  EXPECT_EQ(rec.error->reason, GiveUpReason::committed);
  EXPECT_EQ(rec.error->bytes_delivered, 4u);
  EXPECT_EQ(rec.streamed, "aabb");
  EXPECT_EQ(v.memory->attempts(kUrl), 1);
}

TEST(ClientStreaming, RewindableSinkIsResetBeforeTheRetryBytes) {
  VirtualClient v;
  v.memory->script(kUrl, {reset_after_two_chunks(), Scripted::ok("fresh", 5)});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.streaming(true));
  v.advance(1s);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.streamed, "fresh") << "no byte delivered twice without a reset";
  const std::vector<std::string> expected{"chunk", "chunk", "attempt:1", "rewind", "chunk", "chunk",
                                          "chunk", "chunk", "chunk", "attempt:2", "success"};
  EXPECT_EQ(rec.events, expected);
}

TEST(ClientStreaming, FailureBeforeAnyByteIsStillRetriedWithoutARewind) {
  VirtualClient v;
  v.memory->script(kUrl, {Scripted::fault(ErrorKind::connection_reset), Scripted::ok("x")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = kUrl}, rec.streaming(false));
  v.advance(1s);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "rewind"), 0);
}

TEST(ClientStreaming, CancelMidStreamStopsChunksAndEndsWithCancel) {
  VirtualClient v;
  auto slow = Scripted::ok("0123456789", 10);
  slow.chunk_interval = 100ms;
  v.memory->script(kUrl, {slow});
  Client client(v.options());
  Recorder rec;
  auto handle = client.fetch({.url = kUrl}, rec.streaming(false));
  v.advance(250ms);
  handle.cancel();
  v.advance(2s);
  EXPECT_EQ(rec.streamed, "012");
  EXPECT_EQ(rec.events.back(), "cancel");
  EXPECT_EQ(rec.terminal, 1);
}

}  // namespace
}  // namespace fetchpipe
