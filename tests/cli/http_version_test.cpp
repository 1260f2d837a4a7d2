// --http1.1, --http2, --http2-prior-knowledge through the CLI, and http_version in --json: h2 over
// TLS (ALPN) and over cleartext against the in-process HTTP/2 test server, 1.1 by default, and
// HTTP/2 with --transport httplib refused as a usage error (exit 2) naming the flag.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include <fetchpipe/tools/fault_server.hpp>
#include <fetchpipe/tools/test_certificates.hpp>

#include "child_process.hpp"
#include "h2_server.hpp"
#include "mini_json.hpp"

namespace fetchpipe::test {
namespace {

using namespace std::chrono_literals;
const std::string kCli = FETCHPIPE_CLI_PATH;

class HttpVersionTest : public ::testing::Test {
 protected:
  HttpVersionTest() {
    std::filesystem::create_directories(dir_);
    certs_ = tools::make_test_certificates(dir_);
    tls_ = std::make_unique<testing::H2Server>(
        testing::H2Server::Options{.cert_file = certs_.server_cert_file, .key_file = certs_.server_key_file});
  }
  ~HttpVersionTest() override {
    tls_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  static ChildResult get(std::vector<std::string> args) {
    std::vector<std::string> argv{kCli, "get"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_child(argv, 60s);
  }
  static std::string version_in(const ChildResult& r) {
    const auto report = parse_json(r.last_err_line());
    if (!report) return "<no json>";
    const auto& v = (*report)["http_version"];
    return v.is_null() ? "null" : v.string();
  }

  std::filesystem::path dir_ = std::filesystem::temp_directory_path() / ("fetchpipe-cli-h2-" + std::to_string(::getpid()));
  tools::TestCertificates certs_;
  std::unique_ptr<testing::H2Server> tls_;
};

TEST_F(HttpVersionTest, Http2OverTlsSaysTwo) {
  const auto r = get({"--http2", "--cacert", certs_.ca_cert_file.string(), "--json", tls_->url("/ok")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok");
  EXPECT_EQ(version_in(r), "2");
}

TEST_F(HttpVersionTest, PriorKnowledgeOnCleartextSaysTwo) {
  testing::H2Server cleartext;
  const auto r = get({"--http2-prior-knowledge", "--json", cleartext.url("/ok")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(version_in(r), "2");
}

TEST_F(HttpVersionTest, DefaultAndHttp11SayOnePointOne) {
  tools::FaultServer server;
  for (const std::string flag : {"--verbose", "--http1.1"}) {
    const auto r = get({flag, "--json", server.url("/fixed?key=HttpVersionTest")});
    ASSERT_EQ(r.exit_code, 0) << flag << "\n" << r.err;
    EXPECT_EQ(version_in(r), "1.1") << flag;
  }
  // The h2 test server's ALPN takes only h2: asking for 1.1 there fails the handshake.
  const auto r = get({"--http1.1", "--max-attempts", "1", "--cacert", certs_.ca_cert_file.string(), "--json",
                      tls_->url("/ok")});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(version_in(r), "null");
}

TEST_F(HttpVersionTest, Http2WithHttplibIsAUsageError) {
  for (const char* flag : {"--http2", "--http2-prior-knowledge"}) {
    const auto r = get({"--transport", "httplib", flag, "--json", tls_->url("/ok")});
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_NE(r.err.find(std::string(flag) + ": the httplib transport speaks HTTP/1.1 only"), std::string::npos)
        << r.err;
    const auto report = parse_json(r.last_err_line());
    ASSERT_TRUE(report) << r.err;
    EXPECT_EQ((*report)["error"]["kind"].string(), "invalid_request");
  }
  EXPECT_EQ(tls_->connections(), 0) << "nothing was sent";
}

}  // namespace
}  // namespace fetchpipe::test
