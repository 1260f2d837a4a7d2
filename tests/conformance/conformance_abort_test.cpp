// Cancel aborts for real: after cancel() the SERVER sees the connection closed promptly, and the
// transport's capacity is free again (a one-worker httplib pool serves the next fetch at once).
// Timing on_cancel alone would pass for a transport that never stops its exchange, because the
// pipeline delivers on_cancel without waiting for the transport.
#include <thread>

#include "server_suite.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceAbort : public ServerSuite {};

constexpr auto kCloseBound = 500ms * kSlack;

// The smallest capacity each transport can be given: one httplib worker (a worker stuck in an
// aborted exchange would block the next fetch); curl has no worker to block.
void one_worker(ClientOptions& o) {
  if (o.transport->name() == "httplib") {
    o.transport = std::make_shared<HttplibTransport>(HttplibTransport::Options{.workers = 1});
  }
}

// Polls a server counter (bounded); returns when it reached `n` or the limit passed.
template <typename Counter>
Clock::time_point when_reaches(Counter counter, int n, std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (counter() < n && Clock::now() < until) std::this_thread::sleep_for(1ms);
  return Clock::now();
}

void cancel_and_expect_close(Runner& run, const std::string& path, const std::string& key) {
  auto p = run.start({.url = ServerSuite::url(path)});
  when_reaches([&] { return ServerSuite::server().count(key); }, 1);
  ASSERT_EQ(ServerSuite::server().count(key), 1) << "the request never reached the server";
  const auto cancelled_at = Clock::now();
  ASSERT_TRUE(p.handle.cancel());
  const auto closed_at = when_reaches([&] { return ServerSuite::server().aborted(key); }, 1);
  ASSERT_EQ(ServerSuite::server().aborted(key), 1) << "the server never saw the connection close";
  EXPECT_LT(closed_at - cancelled_at, kCloseBound) << "the transport did not abort its exchange promptly";
  EXPECT_EQ(Runner::wait(p).terminal, "cancel");

  // The capacity the aborted exchange held is free: the next fetch is served at once.
  const auto next_at = Clock::now();
  auto next = run.fetch({.url = ServerSuite::url("/fixed")});
  EXPECT_EQ(next.terminal, "success") << (next.error ? next.error->message : "");
  EXPECT_LT(Clock::now() - next_at, kCloseBound) << "the next fetch waited for the aborted one";
}

TEST_P(ConformanceAbort, CancelOfAHungRequestClosesItsConnectionPromptly) {
  Runner run(GetParam(), one_worker);
  const auto key = test_key();
  cancel_and_expect_close(run, "/hang?key=" + key, key);
}

TEST_P(ConformanceAbort, CancelDuringASlowBodyClosesItsConnectionPromptly) {
  Runner run(GetParam(), one_worker);
  const auto key = test_key();
  cancel_and_expect_close(run, "/drip?n=100000&interval_ms=50&chunk=10&key=" + key, key);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceAbort, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
