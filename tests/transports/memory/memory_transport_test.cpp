#include "fetchpipe/transports/memory_transport.hpp"

#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;

// Records what an exchange reports.
struct Log final : ExchangeObserver {
  std::vector<std::string> events;
  std::optional<ResponseHead> head;
  std::string body;
  std::optional<ExchangeResult> result;
  bool keep_going = true;
  void on_head(ResponseHead h) override {
    events.push_back("head");
    head = std::move(h);
  }
  bool on_body(std::string_view c) override {
    events.push_back("body");
    body.append(c);
    return keep_going;
  }
  void on_complete(ExchangeResult r) override {
    events.push_back("complete");
    result = std::move(r);
  }
};

struct Fixture {
  std::shared_ptr<ManualScheduler> clock = std::make_shared<ManualScheduler>();
  MemoryTransport memory{clock};
  Request request{.url = "http://m.test/x"};
  ExchangeSpec spec(std::chrono::nanoseconds attempt = 10s) {
    ExchangeSpec s;
    s.request = &request;
    s.deadline = clock->now() + attempt;
    s.connect_timeout = 1s;
    return s;
  }
};

TEST(MemoryTransport, PlaysAnswersInOrderAndRepeatsTheLast) {
  Fixture f;
  f.memory.script("http://m.test/x", {Scripted::status_code(503), Scripted::ok("fine")});
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    auto log = std::make_shared<Log>();
    f.memory.start(f.spec(), log);
    f.clock->run_due();
    ASSERT_TRUE(log->head);
    statuses.push_back(log->head->status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{503, 200, 200}));
  EXPECT_EQ(f.memory.attempts("http://m.test/x"), 3);
  EXPECT_EQ(f.memory.requests("http://m.test/x").size(), 3u);
}

TEST(MemoryTransport, UnscriptedUrlGets404) {
  Fixture f;
  auto log = std::make_shared<Log>();
  f.memory.start(f.spec(), log);
  f.clock->run_due();
  ASSERT_TRUE(log->head);
  EXPECT_EQ(log->head->status, 404);
}

TEST(MemoryTransport, NeverCallsTheObserverInsideStartOrCancel) {
  Fixture f;
  f.memory.script("http://m.test/x", {Scripted::ok()});
  auto log = std::make_shared<Log>();
  auto exchange = f.memory.start(f.spec(), log);
  EXPECT_TRUE(log->events.empty());
  exchange->cancel();
  EXPECT_TRUE(log->events.empty());
  f.clock->run_due();
  EXPECT_EQ(log->events, std::vector<std::string>{"complete"});
  EXPECT_EQ(log->result->error, ErrorKind::cancelled);
}

TEST(MemoryTransport, StreamsChunksAtTheirTimes) {
  Fixture f;
  auto answer = Scripted::ok("abc", 3);
  answer.latency = 100ms;
  answer.chunk_interval = 50ms;
  f.memory.script("http://m.test/x", {answer});
  auto log = std::make_shared<Log>();
  f.memory.start(f.spec(), log);
  f.clock->advance(99ms);
  EXPECT_TRUE(log->events.empty());
  f.clock->advance(1ms);
  EXPECT_EQ(log->events, (std::vector<std::string>{"head", "body"}));
  f.clock->advance(100ms);
  EXPECT_EQ(log->body, "abc");
  ASSERT_TRUE(log->result);
  EXPECT_FALSE(log->result->error);
  EXPECT_EQ(f.memory.in_flight(), 0);
}

TEST(MemoryTransport, HonoursTheDeadline) {
  Fixture f;
  f.memory.script("http://m.test/x", {Scripted::hanging()});
  auto log = std::make_shared<Log>();
  f.memory.start(f.spec(2s), log);
  f.clock->advance(1999ms);
  EXPECT_FALSE(log->result);
  f.clock->advance(1ms);
  ASSERT_TRUE(log->result);
  EXPECT_EQ(log->result->error, ErrorKind::attempt_timeout);
}

TEST(MemoryTransport, ConnectTimeoutBeatsASlowConnect) {
  Fixture f;
  auto slow = Scripted::ok();
  slow.connect_delay = 3s;
  f.memory.script("http://m.test/x", {slow});
  auto log = std::make_shared<Log>();
  f.memory.start(f.spec(), log);
  f.clock->advance(1s);
  ASSERT_TRUE(log->result);
  EXPECT_EQ(log->result->error, ErrorKind::connect_timeout);
}

TEST(MemoryTransport, StallTimeoutBetweenChunks) {
  Fixture f;
  auto slow = Scripted::ok("ab", 2);
  slow.chunk_interval = 5s;
  f.memory.script("http://m.test/x", {slow});
  auto log = std::make_shared<Log>();
  auto spec = f.spec();
  spec.stall_timeout = 2s;
  f.memory.start(spec, log);
  f.clock->advance(1s);
  EXPECT_EQ(log->body, "a");
  f.clock->advance(1s);
  ASSERT_TRUE(log->result);
  EXPECT_EQ(log->result->error, ErrorKind::stall_timeout);
}

// The stall clock means "no response byte for the stall time at any point after the request was
// sent" (the same on every transport): a first byte slower than the stall ends the exchange at
// request + stall, to the instant; connect time does not count; a first byte inside it is fine.
TEST(MemoryTransport, StallClockRunsFromTheRequestNotFromTheHead) {
  Fixture f;
  auto late = Scripted::ok("ab");
  late.connect_delay = 500ms;
  late.latency = 3s;
  f.memory.script("http://m.test/x", {late});
  auto log = std::make_shared<Log>();
  auto spec = f.spec();
  spec.stall_timeout = 2s;
  f.memory.start(spec, log);
  f.clock->advance(2500ms - 1ns);
  EXPECT_FALSE(log->result) << "connect time is not stall time";
  f.clock->advance(1ns);
  ASSERT_TRUE(log->result);
  EXPECT_EQ(log->result->error, ErrorKind::stall_timeout);
  EXPECT_FALSE(log->head);
}

TEST(MemoryTransport, FirstByteInsideTheStallTimeIsFine) {
  Fixture f;
  auto slow = Scripted::ok("ab", 2);
  slow.latency = 1900ms;
  slow.chunk_interval = 1900ms;
  f.memory.script("http://m.test/x", {slow});
  auto log = std::make_shared<Log>();
  auto spec = f.spec();
  spec.stall_timeout = 2s;
  f.memory.start(spec, log);
  f.clock->advance(10s);
  ASSERT_TRUE(log->result);
  EXPECT_FALSE(log->result->error);
  EXPECT_EQ(log->body, "ab");
}

TEST(MemoryTransport, FaultMidBody) {
  Fixture f;
  auto s = Scripted::ok("aabbcc", 3);
  s.error = ErrorKind::connection_reset;
  s.fail_after_chunks = 1;
  f.memory.script("http://m.test/x", {s});
  auto log = std::make_shared<Log>();
  f.memory.start(f.spec(), log);
  f.clock->run_due();
  EXPECT_EQ(log->events, (std::vector<std::string>{"head", "body", "complete"}));
  EXPECT_EQ(log->result->error, ErrorKind::connection_reset);
}

TEST(MemoryTransport, ObserverCanStopTheBody) {
  Fixture f;
  f.memory.script("http://m.test/x", {Scripted::ok("abcdef", 6)});
  auto log = std::make_shared<Log>();
  log->keep_going = false;
  f.memory.start(f.spec(), log);
  f.clock->run_due();
  EXPECT_EQ(log->body, "a");
  ASSERT_TRUE(log->result);
  EXPECT_EQ(log->result->error, ErrorKind::cancelled);
}

}  // namespace
}  // namespace fetchpipe
