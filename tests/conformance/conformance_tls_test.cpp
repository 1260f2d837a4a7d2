// HTTPS on every transport: a CA made at test time is trusted when given, and a certificate
// nobody vouches for fails as tls_failure (and is not retried).
#include <unistd.h>

#include <filesystem>

#include "conformance_support.hpp"
#include "fetchpipe/tools/test_certificates.hpp"

namespace fetchpipe::conformance {
namespace {

class ConformanceTls : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("fetchpipe-tls-" + std::to_string(::getpid())));
    std::filesystem::create_directories(*dir_);
    certs_ = new tools::TestCertificates(tools::make_test_certificates(*dir_));
    server_ = new tools::FaultServer(
        {.tls = true, .tls_cert_file = certs_->server_cert_file, .tls_key_file = certs_->server_key_file});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete certs_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::filesystem::path* dir_;
  static tools::TestCertificates* certs_;
  static tools::FaultServer* server_;
};
std::filesystem::path* ConformanceTls::dir_ = nullptr;
tools::TestCertificates* ConformanceTls::certs_ = nullptr;
tools::FaultServer* ConformanceTls::server_ = nullptr;

TEST_P(ConformanceTls, TrustedCertificateVerifies) {
  Runner run(GetParam(), [](ClientOptions& o) { o.tls.ca_file = certs_->ca_cert_file.string(); });
  auto out = run.fetch({.url = server_->tls_url("/fixed")});
  ASSERT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
  EXPECT_EQ(out.response->body, "hello from fetchpipe\n");
  auto big = run.fetch({.url = server_->tls_url("/bytes?n=200000")}, true);
  ASSERT_EQ(big.terminal, "success");
  EXPECT_TRUE(big.streamed == expected_bytes(200'000));
}

TEST_P(ConformanceTls, UntrustedCertificateIsTlsFailureAndNotRetried) {
  Runner run(GetParam());  // the system store does not know our test CA
  auto out = run.fetch({.url = server_->tls_url("/fixed")});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::tls_failure) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(out.error->attempts.size(), 1u);
}

TEST_P(ConformanceTls, HostNameMustMatchTheCertificate) {
  // Our server certificate names 127.0.0.1 and localhost; the CA is trusted, so only a name
  // mismatch could fail — and both names are in it, so both succeed.
  Runner run(GetParam(), [](ClientOptions& o) { o.tls.ca_file = certs_->ca_cert_file.string(); });
  auto out = run.fetch({.url = "https://localhost:" + std::to_string(server_->tls_port()) + "/fixed"});
  EXPECT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceTls, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
