// Redirects are followed by the pipeline, the same way on every transport.
#include <gtest/gtest.h>

#include "client_harness.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::Recorder;
using testing::VirtualClient;

TEST(ClientRedirect, FollowsAChainToTheFinalUrl) {
  VirtualClient v;
  v.memory->script("http://a.test/1", {Scripted::redirect(301, "/2")});
  v.memory->script("http://a.test/2", {Scripted::redirect(302, "http://b.test/3")});
  v.memory->script("http://b.test/3", {Scripted::redirect(307, "4")});
  v.memory->script("http://b.test/4", {Scripted::ok("end")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = "http://a.test/1"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(rec.response->body, "end");
  EXPECT_EQ(rec.response->final_url, "http://b.test/4");
  EXPECT_EQ(rec.response->attempts.size(), 1u) << "redirects belong to one attempt";
}

TEST(ClientRedirect, ZeroMaxRedirectsMakesTheRedirectFinal) {
  VirtualClient v;
  v.memory->script("http://a.test/1", {Scripted::redirect(302, "/2")});
  auto options = v.options();
  options.max_redirects = 0;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/1"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::http_status);
  EXPECT_EQ(rec.error->status, 302);
  EXPECT_EQ(v.memory->attempts("http://a.test/2"), 0);
}

TEST(ClientRedirect, LoopHitsTheLimit) {
  VirtualClient v;
  v.memory->script("http://a.test/loop", {Scripted::redirect(302, "/loop")});
  auto options = v.options();
  options.max_redirects = 5;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/loop"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::too_many_redirects);
  EXPECT_EQ(rec.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(v.memory->attempts("http://a.test/loop"), 6);
}

TEST(ClientRedirect, AttemptThatHitTheLimitRecordsItsDuration) {
  VirtualClient v;
  auto hop = Scripted::redirect(302, "/loop");
  hop.latency = 10ms;
  v.memory->script("http://a.test/loop", {hop});
  auto options = v.options();
  options.max_redirects = 2;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://a.test/loop"}, rec.callbacks());
  v.advance(100ms);
  ASSERT_TRUE(rec.error);
  ASSERT_EQ(rec.error->attempts.size(), 1u);
  EXPECT_EQ(rec.error->attempts[0].elapsed, std::chrono::nanoseconds(30ms)) << "three hops of 10 ms";
}

TEST(ClientRedirect, RefusesAnotherScheme) {
  VirtualClient v;
  v.memory->script("http://a.test/1", {Scripted::redirect(302, "ftp://a.test/file")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = "http://a.test/1"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::http_status);
  EXPECT_EQ(rec.error->status, 302);
  EXPECT_NE(rec.error->message.find("scheme 'ftp'"), std::string::npos) << rec.error->message;
}

TEST(ClientRedirect, PostBecomesGetOn302And303ButNotOn307) {
  for (const auto& [code, method, body] : {std::tuple{302, "GET", ""}, std::tuple{303, "GET", ""},
                                           std::tuple{301, "GET", ""}, std::tuple{307, "POST", "data"},
                                           std::tuple{308, "POST", "data"}}) {
    VirtualClient v;
    v.memory->script("http://a.test/form", {Scripted::redirect(code, "/done")});
    v.memory->script("http://a.test/done", {Scripted::ok()});
    Client client(v.options());
    Recorder rec;
    client.fetch({.method = "POST", .url = "http://a.test/form", .headers = {{"Content-Type", "text/plain"}},
                  .body = "data"},
                 rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.response) << code;
    const auto sent = v.memory->requests("http://a.test/done");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].method, method) << code;
    EXPECT_EQ(sent[0].body, body) << code;
    EXPECT_EQ(sent[0].headers.contains("Content-Type"), std::string(body) == "data") << code;
  }
}

TEST(ClientRedirect, CredentialsAreDroppedAcrossOriginsOnly) {
  VirtualClient v;
  v.memory->script("http://127.0.0.1:8080/a", {Scripted::redirect(302, "/b")});
  v.memory->script("http://127.0.0.1:8080/b", {Scripted::redirect(302, "http://localhost:8080/c")});
  v.memory->script("http://localhost:8080/c", {Scripted::redirect(302, "http://127.0.0.1:8080/d")});
  v.memory->script("http://127.0.0.1:8080/d", {Scripted::ok()});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = "http://127.0.0.1:8080/a",
                .headers = {{"Authorization", "Bearer s3cret"}, {"Cookie", "id=1"}, {"X-Keep", "yes"}}},
               rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.response);
  const auto same = v.memory->requests("http://127.0.0.1:8080/b");
  ASSERT_EQ(same.size(), 1u);
  EXPECT_TRUE(same[0].headers.contains("Authorization")) << "same origin keeps credentials";
  const auto other = v.memory->requests("http://localhost:8080/c");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_FALSE(other[0].headers.contains("Authorization"));
  EXPECT_FALSE(other[0].headers.contains("Cookie"));
  EXPECT_TRUE(other[0].headers.contains("X-Keep"));
  const auto back = v.memory->requests("http://127.0.0.1:8080/d");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_FALSE(back[0].headers.contains("Authorization")) << "once dropped, never restored";
}

TEST(ClientRedirect, EveryCredentialHeaderIsDroppedOnAPortOrSchemeChange) {
  // Same host, another port; then same host and port number, another scheme.
  for (const auto& [from, to] : {std::pair{"http://a.test:8080/a", "http://a.test:8081/b"},
                                 std::pair{"http://a.test:443/a", "https://a.test:443/b"}}) {
    VirtualClient v;
    v.memory->script(from, {Scripted::redirect(302, to)});
    v.memory->script(to, {Scripted::ok()});
    Client client(v.options());
    Recorder rec;
    client.fetch({.url = from,
                  .headers = {{"Authorization", "Bearer s3cret"},
                              {"Proxy-Authorization", "Basic cHJveHk6cHc="},
                              {"Cookie", "id=1"},
                              {"X-Keep", "yes"}}},
                 rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.response) << to;
    const auto sent = v.memory->requests(to);
    ASSERT_EQ(sent.size(), 1u) << to;
    EXPECT_FALSE(sent[0].headers.contains("Authorization")) << to;
    EXPECT_FALSE(sent[0].headers.contains("Proxy-Authorization")) << to;
    EXPECT_FALSE(sent[0].headers.contains("Cookie")) << to;
    EXPECT_TRUE(sent[0].headers.contains("X-Keep")) << to;
  }
}

TEST(ClientRedirect, HeadStaysHeadOn303AndPutStaysPutOn302) {
  for (const auto& [code, method] : {std::pair{303, "HEAD"}, std::pair{302, "PUT"}, std::pair{301, "PUT"}}) {
    VirtualClient v;
    v.memory->script("http://a.test/from", {Scripted::redirect(code, "/to")});
    v.memory->script("http://a.test/to", {Scripted::ok("")});
    Client client(v.options());
    Recorder rec;
    client.fetch({.method = method, .url = "http://a.test/from", .body = std::string(method) == "PUT" ? "data" : ""},
                 rec.callbacks());
    v.settle();
    ASSERT_TRUE(rec.response) << code << " " << method;
    const auto sent = v.memory->requests("http://a.test/to");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].method, method) << code;
    EXPECT_EQ(sent[0].body, std::string(method) == "PUT" ? "data" : "") << code;
  }
}

TEST(ClientRedirect, TheDefaultLimitIsTenRedirects) {
  VirtualClient v;
  v.memory->script("http://a.test/loop", {Scripted::redirect(302, "/loop")});
  EXPECT_EQ(ClientOptions{}.max_redirects, 10);
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = "http://a.test/loop"}, rec.callbacks());
  v.settle();
  ASSERT_TRUE(rec.error);
  EXPECT_EQ(rec.error->kind, ErrorKind::too_many_redirects);
  EXPECT_EQ(v.memory->attempts("http://a.test/loop"), 11) << "the first request and ten redirects";
}

TEST(ClientRedirect, RetryStartsAgainFromTheOriginalUrl) {
  VirtualClient v;
  v.memory->script("http://a.test/start", {Scripted::redirect(302, "/flaky")});
  v.memory->script("http://a.test/flaky", {Scripted::status_code(503), Scripted::ok("healed")});
  Client client(v.options());
  Recorder rec;
  client.fetch({.url = "http://a.test/start"}, rec.callbacks());
  v.advance(500ms);
  ASSERT_TRUE(rec.response);
  EXPECT_EQ(v.memory->attempts("http://a.test/start"), 2);
  EXPECT_EQ(rec.response->body, "healed");
}

}  // namespace
}  // namespace fetchpipe
