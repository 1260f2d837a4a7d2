// A callback executor that throws on post: the client still owes each fetch its callbacks. It
// runs them on the thread that tried to post (docs/contract.md: nothing unwinds into the
// pipeline) and reports the executor's exception through on_callback_exception.
#include <gtest/gtest.h>

#include <atomic>

#include "client_harness.hpp"

namespace fetchpipe::testing {
namespace {

class RefusingExecutor final : public Executor {
 public:
  void post(std::function<void()>) override {
    ++refused;
    throw std::runtime_error("executor refuses work");
  }
  std::atomic<int> refused{0};
};

TEST(EdgesExecutor, ExecutorThatThrowsOnPostStillDeliversExactlyOneTerminalCallback) {
  VirtualClient vc;
  vc.memory->script("http://127.0.0.1:1/ok", {Scripted::status_code(503), Scripted::ok("fine", 2)});
  vc.memory->script("http://127.0.0.1:1/bad", {Scripted::status_code(404)});
  vc.memory->script("http://127.0.0.1:1/hang", {Scripted::hanging()});
  auto refusing = std::make_shared<RefusingExecutor>();
  auto options = vc.options();
  options.callback_executor = refusing;
  std::atomic<int> hook_calls{0};
  options.on_callback_exception = [&](std::exception_ptr) { ++hook_calls; };
  Recorder ok, bad, cancelled, streamed;
  {
    Client client(options);
    client.fetch({.url = "http://127.0.0.1:1/ok"}, ok.callbacks());
    client.fetch({.url = "http://127.0.0.1:1/ok"}, streamed.streaming(false));
    client.fetch({.url = "http://127.0.0.1:1/bad"}, bad.callbacks());
    auto handle = client.fetch({.url = "http://127.0.0.1:1/hang"}, cancelled.callbacks());
    vc.advance(2s);
    EXPECT_TRUE(handle.cancel());
    vc.settle();
    const auto stats = client.stats();
    EXPECT_EQ(stats.in_flight, 0u);
    EXPECT_EQ(stats.started, stats.succeeded + stats.failed + stats.cancelled);
  }
  EXPECT_EQ(ok.terminal, 1);
  ASSERT_TRUE(ok.response.has_value());
  EXPECT_EQ(ok.response->body, "fine");
  EXPECT_EQ(streamed.terminal, 1);
  EXPECT_EQ(streamed.streamed, "fine");
  EXPECT_EQ(streamed.events.back(), "success");
  EXPECT_EQ(bad.terminal, 1);
  EXPECT_EQ(bad.error->kind, ErrorKind::http_status);
  EXPECT_EQ(cancelled.terminal, 1);
  EXPECT_EQ(cancelled.error->kind, ErrorKind::cancelled);
  EXPECT_GT(refusing->refused.load(), 0);
  EXPECT_EQ(hook_calls.load(), refusing->refused.load());
}

}  // namespace
}  // namespace fetchpipe::testing
