// The safe defaults of docs/design.md, each on both transports against the fault server (127.0.0.1 and
// localhost only): TLS verification on; http and https only, on redirects too; Authorization and
// Cookie dropped when a redirect changes origin; CR/LF in headers rejected before anything is
// sent; the response head bounded; the body limit enforced while streaming.
#include <chrono>
#include <thread>

#include "conformance_support.hpp"
#include "tls_fault_server.hpp"

namespace fetchpipe::conformance {
namespace {

class Security : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { tls_ = new testing::TlsFaultServer("security"); }
  static void TearDownTestSuite() {
    delete tls_;
    tls_ = nullptr;
  }
  static tools::FaultServer& server() { return tls_->server(); }
  static const tools::TestCertificates& certs() { return tls_->certs(); }

  static testing::TlsFaultServer* tls_;
};
testing::TlsFaultServer* Security::tls_ = nullptr;

TEST_P(Security, TlsVerificationIsOnByDefault) {
  EXPECT_TRUE(TlsOptions{}.verify_peer);
  EXPECT_TRUE(ClientOptions{}.tls.verify_peer);
  Runner run(GetParam());  // default TlsOptions: the system store, which does not know our CA
  auto out = run.fetch({.url = server().tls_url("/fixed")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::tls_failure) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::not_retryable);
  // Trusting the CA makes the same fetch work: the failure was verification, nothing else.
  Runner trusting(GetParam(), [](ClientOptions& o) { o.tls.ca_file = certs().ca_cert_file.string(); });
  EXPECT_EQ(trusting.fetch({.url = server().tls_url("/fixed")}).terminal, "success");
}

TEST_P(Security, OnlyHttpAndHttpsAreFetched) {
  Runner run(GetParam());
  for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"}) {
    auto out = run.fetch({.url = url});
    ASSERT_EQ(out.terminal, "failure") << url;
    EXPECT_EQ(out.error->kind, ErrorKind::invalid_request) << url;
    EXPECT_TRUE(out.error->attempts.empty()) << url;
  }
}

TEST_P(Security, RedirectToFileOrFtpIsRefused) {
  Runner run(GetParam());
  for (const char* target : {"file:///etc/passwd", "ftp://127.0.0.1/pub", "FILE:///etc/hosts"}) {
    const auto key = test_key() + "-" + std::to_string(std::hash<std::string>{}(target));
    auto out = run.fetch({.url = server().url(std::string("/redirect-to?code=302&key=") + key + "&url=" + target)});
    ASSERT_EQ(out.terminal, "failure") << target;
    EXPECT_EQ(out.error->kind, ErrorKind::http_status) << target;
    EXPECT_EQ(out.error->status, 302) << target;
    EXPECT_EQ(out.error->reason, GiveUpReason::not_retryable) << target;
    EXPECT_NE(out.error->message.find("refused to follow"), std::string::npos) << out.error->message;
    EXPECT_EQ(server().count(key), 1) << target;  // one request, never retried
  }
}

TEST_P(Security, CredentialsAreDroppedWhenARedirectChangesOrigin) {
  Runner run(GetParam());
  const Headers secrets{{"Authorization", "Bearer secret"}, {"Cookie", "session=1"}, {"X-Other", "kept"}};
  // 127.0.0.1 -> localhost (same port): another origin.
  auto cross = run.fetch({.url = server().url("/redirect-to?code=307&url=" + server().cross_origin_url("/echo")),
                          .headers = secrets});
  ASSERT_EQ(cross.terminal, "success") << (cross.error ? cross.error->message : "");
  EXPECT_EQ(cross.response->body.find("Authorization"), std::string::npos) << cross.response->body;
  EXPECT_EQ(cross.response->body.find("Cookie"), std::string::npos) << cross.response->body;
  EXPECT_NE(cross.response->body.find("X-Other: kept"), std::string::npos) << cross.response->body;
  // Same origin: they stay.
  auto same = run.fetch({.url = server().url("/redirect?n=1&to=/echo"), .headers = secrets});
  ASSERT_EQ(same.terminal, "success");
  EXPECT_NE(same.response->body.find("Authorization: Bearer secret"), std::string::npos) << same.response->body;
  EXPECT_NE(same.response->body.find("Cookie: session=1"), std::string::npos) << same.response->body;
}

TEST_P(Security, CrLfInHeadersIsRejectedBeforeSending) {
  Runner run(GetParam());
  const auto key = test_key();
  const std::vector<Headers> bad{{{"X-Bad", "a\r\nInjected: 1"}}, {{"X-Bad", "a\nb"}}, {{"X-Bad", "a\rb"}},
                                 {{"X-Bad\r\nInjected", "1"}},   {{"Bad Name", "v"}}};
  for (const auto& headers : bad) {
    auto out = run.fetch({.url = server().url("/echo?key=" + key), .headers = headers});
    ASSERT_EQ(out.terminal, "failure");
    EXPECT_EQ(out.error->kind, ErrorKind::invalid_request);
    EXPECT_TRUE(out.error->attempts.empty());
    EXPECT_EQ(out.error->message.find_first_of("\r\n"), std::string::npos) << out.error->message;
  }
  EXPECT_EQ(server().count(key), 0);  // nothing was sent
}

// The response head is bounded on both transports (256 KiB): a head of 1 MiB — one huge line, or
// many lines each under cpp-httplib's 8 KiB line limit — or of 16 MiB ends the attempt as
// connection_reset (the server's answer was unusable, as if cut off) and is retried like one.
TEST_P(Security, HugeResponseHeadIsAConnectionReset) {
  Runner run(GetParam(), {}, DefaultRetryPolicy::Options{.max_attempts = 2});
  for (const char* query : {"bytes=1048576", "bytes=1048576&lines=256", "bytes=16777216&lines=4096"}) {
    const auto key = test_key() + "-" + std::to_string(std::hash<std::string>{}(query));
    auto out = run.fetch({.url = server().url(std::string("/big-header?key=") + key + "&" + query)});
    ASSERT_EQ(out.terminal, "failure") << query;
    EXPECT_EQ(out.error->kind, ErrorKind::connection_reset) << query << ": " << out.error->message;
    EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted) << query;
    EXPECT_EQ(server().count(key), 2) << query;
  }
  // A large but reasonable head (64 KiB over 16 lines) is fine on both.
  auto ok = run.fetch({.url = server().url("/big-header?bytes=65536&lines=16")});
  ASSERT_EQ(ok.terminal, "success") << (ok.error ? ok.error->message : "");
  EXPECT_EQ(ok.response->body, "big header\n");
}

TEST_P(Security, BodyLimitIsEnforcedWhileStreaming) {
  static constexpr std::uint64_t kLimit = 100'000;
  Runner run(GetParam(), [](ClientOptions& o) { o.max_body_bytes = kLimit; });
  for (const char* chunked : {"0", "1"}) {
    // 100 MB offered; the fetch must stop reading soon after the limit. What the server manages
    // to write past that point is bounded by the kernel's socket buffers (a few MiB on
    // loopback), not by the body: a client that read on would let all 100 MB through.
    const std::string key = std::string("limit-") + GetParam() + "-" + chunked;
    auto out = run.fetch(
        {.url = server().url("/bytes?n=100000000&chunked=" + std::string(chunked) + "&key=" + key)},
        /*stream=*/true);
    ASSERT_EQ(out.terminal, "failure") << chunked;
    EXPECT_EQ(out.error->kind, ErrorKind::body_too_large) << out.error->message;
    EXPECT_LE(out.streamed.size(), kLimit);
    EXPECT_EQ(out.error->bytes_delivered, out.streamed.size());
    // Once the server notices the close it stops writing; wait for that (bounded) before reading
    // its count.
    std::uint64_t sent = 0;
    for (int i = 0; i < 100; ++i) {
      const auto now = server().bytes_sent(key);
      if (i > 0 && now == sent) break;
      sent = now;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_LT(sent, std::uint64_t{24} << 20) << chunked << ": the transport read on past the limit";
  }
  // Exactly the limit is allowed.
  auto exact = run.fetch({.url = server().url("/bytes?n=100000&chunked=1")}, /*stream=*/true);
  ASSERT_EQ(exact.terminal, "success");
  EXPECT_EQ(exact.streamed.size(), kLimit);
}

INSTANTIATE_TEST_SUITE_P(Transports, Security, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
