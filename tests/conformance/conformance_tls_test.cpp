// HTTPS on every transport: a CA made at test time is trusted when given, and a certificate
// nobody vouches for fails as tls_failure (and is not retried).
#include "conformance_support.hpp"
#include "tls_fault_server.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceTls : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { tls_ = new testing::TlsFaultServer("tls"); }
  static void TearDownTestSuite() {
    delete tls_;
    tls_ = nullptr;
  }
  static tools::FaultServer& server() { return tls_->server(); }
  static const tools::TestCertificates& certs() { return tls_->certs(); }

  static testing::TlsFaultServer* tls_;
};
testing::TlsFaultServer* ConformanceTls::tls_ = nullptr;

TEST_P(ConformanceTls, TrustedCertificateVerifies) {
  Runner run(GetParam(), [](ClientOptions& o) { o.tls.ca_file = certs().ca_cert_file.string(); });
  auto out = run.fetch({.url = server().tls_url("/fixed")});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.response->body, "hello from fetchpipe\n");
  auto big = run.fetch({.url = server().tls_url("/bytes?n=200000")}, true);
  ASSERT_EQ(big.terminal, "success");
  EXPECT_TRUE(big.streamed == expected_bytes(200'000));
}

TEST_P(ConformanceTls, UntrustedCertificateIsTlsFailureAndNotRetried) {
  Runner run(GetParam());  // the system store does not know our test CA
  auto out = run.fetch({.url = server().tls_url("/fixed")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::tls_failure) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(out.error->attempts.size(), 1u);
}

TEST_P(ConformanceTls, HostNameMustMatchTheCertificate) {
  // A trusted chain whose certificate names another host: only the host-name check can refuse
  // it (with that check off, this fetch succeeds).
  testing::TlsFaultServer elsewhere("tls-elsewhere", {.ca_name = "fetchpipe test CA",
                                                      .server_names = "DNS:elsewhere.invalid"});
  Runner run(GetParam(), [&](ClientOptions& o) { o.tls.ca_file = elsewhere.certs().ca_cert_file.string(); });
  auto out = run.fetch({.url = elsewhere.server().tls_url("/fixed")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::tls_failure) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(out.error->attempts.size(), 1u);
}

TEST_P(ConformanceTls, EitherNameInTheCertificateMatches) {
  // Our server certificate names 127.0.0.1 and localhost: both spellings verify.
  Runner run(GetParam(), [](ClientOptions& o) { o.tls.ca_file = certs().ca_cert_file.string(); });
  auto out = run.fetch({.url = "https://localhost:" + std::to_string(server().tls_port()) + "/fixed"});
  EXPECT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceTls, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
