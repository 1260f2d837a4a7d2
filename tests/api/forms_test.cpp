// The non-callback forms (fetch_future, fetch_sync, co_await fetch_awaitable) and the default
// client, through the real curl and httplib transports against the fault server.
#include <future>
#include <set>
#include <stdexcept>

#include <gmock/gmock.h>

#include "api_support.hpp"
#include "fetchpipe/coroutine.hpp"
#include "fetchpipe/defaults.hpp"
#include "fetchpipe/future.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/sync.hpp"
#include "fetchpipe/url_encoding.hpp"

namespace fetchpipe::api_test {
namespace {

class Forms : public conformance::ServerSuite {};

TEST_F(Forms, DefaultClientFetchesWithTheDocumentedDefaults) {
  Client client;
  const auto& o = client.options();
  ASSERT_NE(o.transport, nullptr);
  ASSERT_NE(o.retry_policy, nullptr);
  ASSERT_NE(o.backoff_policy, nullptr);
  EXPECT_EQ(o.timeouts.connect, 10s);
  EXPECT_EQ(o.timeouts.attempt, 30s);
  EXPECT_FALSE(o.timeouts.stall.has_value());
  EXPECT_FALSE(o.timeouts.overall.has_value());
  EXPECT_EQ(o.max_redirects, 10);
  // The default retry policy retries a 503 (3 failures, then the 4th attempt succeeds).
  const auto key = conformance::test_key();
  Result r = fetch_sync(client, {.url = url("/flaky?key=" + key + "&fail=3&status=503")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts.size(), 4u);
}

TEST_F(Forms, WithDefaultsKeepsWhatIsSet) {
  ClientOptions options;
  options.timeouts.overall = 7s;
  auto policy = std::make_shared<DefaultRetryPolicy>(DefaultRetryPolicy::Options{.max_attempts = 1});
  options.retry_policy = policy;
  Client client(with_defaults(std::move(options)));
  EXPECT_EQ(client.options().retry_policy, policy);
  EXPECT_EQ(client.options().timeouts.overall, 7s);
  Result r = fetch_sync(client, {.url = url("/status?code=503")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().attempts.size(), 1u);
}

TEST_F(Forms, AcceptedStatusesMakeA404AResponse) {
  DefaultRetryPolicy::Options retry;
  retry.accept_statuses = std::set<int>{200, 404};
  ClientOptions options;
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(retry);
  Client client(with_defaults(std::move(options)));
  Result r = fetch_sync(client, {.url = url("/status?code=404")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "status 404\n");
}

TEST_F(Forms, OneLineGet) {
  Result r = get(url("/fixed"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "hello from fetchpipe\n");
}

class FormsOnTransport : public conformance::ServerSuite {};

TEST_P(FormsOnTransport, FutureSuccessAndFailure) {
  Runner run(GetParam());
  auto ok = fetch_future(run.client(), {.url = url("/fixed")});
  auto bad = fetch_future(run.client(), {.url = url("/status?code=404")});
  ASSERT_EQ(ok.wait_for(30s * kSlack), std::future_status::ready);
  ASSERT_EQ(bad.wait_for(30s * kSlack), std::future_status::ready);
  Result good = ok.get();
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->body, "hello from fetchpipe\n");
  Result failed = bad.get();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::http_status);
  EXPECT_EQ(failed.error().status, 404);
  EXPECT_THROW((void)failed.value(), FetchFailed);
}

TEST_P(FormsOnTransport, FutureStopTokenCancels) {
  Runner run(GetParam());
  std::stop_source stop;
  auto pending = fetch_future(run.client(), {.url = url("/hang")}, stop.get_token());
  EXPECT_EQ(pending.wait_for(50ms), std::future_status::timeout);
  stop.request_stop();
  ASSERT_EQ(pending.wait_for(30s * kSlack), std::future_status::ready);
  Result r = pending.get();
  EXPECT_TRUE(r.cancelled());
}

TEST_P(FormsOnTransport, AbandonedFutureLetsTheFetchEndAndTheClientGo) {
  auto run = std::make_unique<Runner>(GetParam());
  { auto dropped = fetch_future(run->client(), {.url = url("/delay?ms=20")}); }
  { auto dropped = fetch_future(run->client(), {.url = url("/hang")}); }
  ASSERT_TRUE(eventually([&] { return run->client().stats().succeeded == 1; }));
  EXPECT_EQ(run->client().stats().in_flight, 1u);
  run.reset();  // cancels the hanging one; its result goes nowhere, nothing leaks (asan)
}

TEST_P(FormsOnTransport, SyncSucceedsAndFails) {
  Runner run(GetParam());
  Result r = fetch_sync(run.client(), {.url = url("/fixed")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  Result reset = fetch_sync(run.client(), {.url = url("/reset")});
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().kind, ErrorKind::connection_reset);
}

TEST_P(FormsOnTransport, SyncRefusesOnTheClientsOwnExecutor) {
  Runner run(GetParam());
  std::promise<std::string> refusal;
  run.client().fetch({.url = url("/fixed")},
                     {.on_success = [&](Response) {
                        try {
                          (void)fetch_sync(run.client(), {.url = url("/fixed")});
                          refusal.set_value("not refused");
                        } catch (const std::logic_error& e) {
                          refusal.set_value(e.what());
                        }
                      },
                      .on_failure = [&](Error e) { refusal.set_value("failed: " + e.message); },
                      .on_cancel = [&](Error) { refusal.set_value("cancelled"); }});
  auto f = refusal.get_future();
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready) << "fetch_sync deadlocked";
  EXPECT_THAT(f.get(), ::testing::HasSubstr("own callback executor"));
  EXPECT_EQ(run.client().stats().started, 1u) << "the refused fetch must not start";
}

DetachedTask await_into(Client& client, std::string url, std::promise<Result>& out, std::promise<bool>& on_executor) {
  Result r = co_await fetch_awaitable(client, std::move(url));
  on_executor.set_value(client.options().callback_executor->running_here());
  out.set_value(std::move(r));
}

TEST_P(FormsOnTransport, CoroutineResumesOnTheCallbackExecutorWithTheResult) {
  Runner run(GetParam());
  std::promise<Result> out;
  std::promise<bool> on_executor;
  await_into(run.client(), url("/fixed"), out, on_executor);  // frees itself on the executor
  auto f = out.get_future();
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  Result r = f.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "hello from fetchpipe\n");
  EXPECT_TRUE(on_executor.get_future().get());
}

struct Sentinel {
  std::atomic<bool>* destroyed;
  ~Sentinel() { destroyed->store(true); }
};

OwnedTask await_forever(Client& client, std::string url, std::atomic<bool>& resumed, std::atomic<bool>& destroyed) {
  Sentinel local{&destroyed};
  Result r = co_await fetch_awaitable(client, std::move(url));
  resumed.store(true);
}

TEST_P(FormsOnTransport, DestroyingTheAwaitingCoroutineCancelsTheFetch) {
  Runner run(GetParam());
  std::atomic<bool> resumed{false};
  std::atomic<bool> destroyed{false};
  {
    auto task = await_forever(run.client(), url("/hang"), resumed, destroyed);
    ASSERT_EQ(run.client().stats().in_flight, 1u);
  }  // the frame goes while the fetch hangs
  EXPECT_TRUE(destroyed.load());
  ASSERT_TRUE(eventually([&] { return run.client().stats().cancelled == 1; }))
      << "the fetch of a destroyed coroutine was not cancelled";
  EXPECT_FALSE(resumed.load());
}

// Touches nothing of the client once resumed (it may be resumed by the client's destructor).
OwnedTask await_only(Client& client, std::string url, std::promise<Result>& out) {
  out.set_value(co_await fetch_awaitable(client, std::move(url)));
}

TEST_P(FormsOnTransport, DestroyingTheClientResumesTheAwaitingCoroutineCancelled) {
  auto run = std::make_unique<Runner>(GetParam());
  std::promise<Result> out;
  auto task = await_only(run->client(), url("/hang"), out);
  auto f = out.get_future();
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  run.reset();  // returns once the coroutine was resumed
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(f.get().cancelled());
}

TEST_P(FormsOnTransport, QueryAndFormHelpersReachTheServerIntact) {
  Runner run(GetParam());
  Result get = fetch_sync(run.client(), {.url = with_query(url("/echo"), {{"q", "a b&c=d#e"}, {"k", "\xC3\xA9"}})});
  ASSERT_TRUE(get) << get.error().message;
  EXPECT_THAT(get->body, ::testing::HasSubstr("target /echo?q=a%20b%26c%3Dd%23e&k=%C3%A9\n"));
  Result post = fetch_sync(run.client(), form_request(url("/echo"), {{"name", "Ada Lovelace"}, {"x", "1+1"}}));
  ASSERT_TRUE(post) << post.error().message;
  EXPECT_THAT(post->body, ::testing::HasSubstr("method POST\n"));
  EXPECT_THAT(post->body, ::testing::HasSubstr("application/x-www-form-urlencoded"));
  EXPECT_THAT(post->body, ::testing::EndsWith("\nname=Ada+Lovelace&x=1%2B1"));
}

INSTANTIATE_TEST_SUITE_P(Transports, FormsOnTransport, ::testing::Values("curl", "httplib"));

}  // namespace
}  // namespace fetchpipe::api_test
