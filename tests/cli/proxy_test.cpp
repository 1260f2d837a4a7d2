// Proxies on both transports, through the CLI: -x, --noproxy and the environment (http_proxy,
// https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, no_proxy, NO_PROXY; HTTP_PROXY ignored), a
// CONNECT tunnel for https://, and the schemes cpp-httplib cannot speak. The proxy is a real one
// on 127.0.0.1 that counts what passes through it.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include <fetchpipe/tools/fault_server.hpp>
#include <fetchpipe/tools/test_certificates.hpp>

#include "child_process.hpp"
#include "loopback.hpp"
#include "temp_dir.hpp"
#include "test_proxy.hpp"

namespace fetchpipe::test {
namespace {

using namespace std::chrono_literals;
const std::string kCli = FETCHPIPE_CLI_PATH;

// Every proxy variable is cleared first, so the machine's own settings never leak in.
std::vector<std::string> with_env(std::vector<std::string> env, std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/env"};
  for (const auto* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                           "no_proxy", "NO_PROXY"}) {
    argv.push_back("-u");
    argv.push_back(name);
  }
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(kCli);
  argv.push_back("get");
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

class ProxyTest : public ::testing::TestWithParam<std::string> {
 protected:
  ChildResult get(std::vector<std::string> env, std::vector<std::string> args) {
    args.push_back("--transport");
    args.push_back(GetParam());
    return run_child(with_env(std::move(env), std::move(args)), 30s);
  }
  std::string dead_proxy() const { return fmt::format("http://127.0.0.1:{}", fetchpipe::testing::closed_port()); }

  tools::FaultServer server_;
  fetchpipe::testing::TestProxy proxy_;
};

TEST_P(ProxyTest, DashXForwardsInAbsoluteForm) {
  const auto r = get({}, {"-x", proxy_.url(), server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from fetchpipe\n");
  EXPECT_EQ(proxy_.forwarded(), 1);
  EXPECT_EQ(proxy_.targets(), std::vector<std::string>{server_.url("/fixed")});
}

TEST_P(ProxyTest, NoProxyNeitherFlagNorEnvironment_Direct) {
  const auto r = get({}, {server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy_.forwarded(), 0);
}

TEST_P(ProxyTest, LowerCaseHttpProxyIsHonoured) {
  const auto r = get({"http_proxy=" + proxy_.url()}, {server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy_.forwarded(), 1);
}

TEST_P(ProxyTest, UpperCaseHttpProxyIsIgnored) {
  const auto r = get({"HTTP_PROXY=" + dead_proxy()}, {server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(ProxyTest, AllProxyEitherCase) {
  for (const auto* name : {"all_proxy", "ALL_PROXY"}) {
    const int before = proxy_.forwarded();
    const auto r = get({std::string(name) + "=" + proxy_.url()}, {server_.url("/fixed")});
    EXPECT_EQ(r.exit_code, 0) << name << r.err;
    EXPECT_EQ(proxy_.forwarded(), before + 1) << name;
  }
}

TEST_P(ProxyTest, NoProxyEnvironmentBypasses) {
  for (const auto* env : {"no_proxy=127.0.0.1", "NO_PROXY=example.org, 127.0.0.1", "no_proxy=*"}) {
    const auto r = get({"http_proxy=" + dead_proxy(), env}, {server_.url("/fixed")});
    EXPECT_EQ(r.exit_code, 0) << env << "\n" << r.err;
  }
}

TEST_P(ProxyTest, DashXWinsOverTheEnvironment_NoproxyStarDisablesIt) {
  auto r = get({"http_proxy=" + dead_proxy()}, {"-x", proxy_.url(), server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy_.forwarded(), 1);
  r = get({}, {"-x", dead_proxy(), "--noproxy", "*", server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = get({}, {"-x", dead_proxy(), "--noproxy", "127.0.0.1", server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(ProxyTest, ADeadProxyIsAConnectFailure) {
  const auto r = get({}, {"-x", dead_proxy(), "--max-attempts", "1", server_.url("/fixed")});
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

TEST_P(ProxyTest, HttpsThroughAConnectTunnel) {
  TempDir dir;
  const auto certs = tools::make_test_certificates(dir.path() / "certs");
  tools::FaultServer tls_server(
      {.tls = true, .tls_cert_file = certs.server_cert_file, .tls_key_file = certs.server_key_file});
  for (const auto* env : {"https_proxy", "HTTPS_PROXY"}) {
    const int before = proxy_.tunnels();
    const auto r = get({std::string(env) + "=" + proxy_.url()},
                       {"--cacert", certs.ca_cert_file.string(), tls_server.tls_url("/fixed")});
    EXPECT_EQ(r.exit_code, 0) << env << "\n" << r.err;
    EXPECT_EQ(r.out, "hello from fetchpipe\n");
    EXPECT_EQ(proxy_.tunnels(), before + 1) << env;
  }
  EXPECT_EQ(proxy_.targets().back(), fmt::format("127.0.0.1:{}", tls_server.tls_port()));
}

INSTANTIATE_TEST_SUITE_P(Transports, ProxyTest, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

TEST(ProxyUsage, HttplibSpeaksOnlyToHttpProxies) {
  for (const auto* proxy : {"socks5://127.0.0.1:1080", "https://127.0.0.1:3128"}) {
    const auto r = run_child(with_env({}, {"-x", proxy, "--transport", "httplib", "http://127.0.0.1:1/"}));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("only http:// proxies"), std::string::npos) << r.err;
  }
  // From the environment the transport refuses it per exchange, with the same words.
  const auto r = run_child(with_env({"all_proxy=socks5://127.0.0.1:1080"},
                                    {"--transport", "httplib", "--json", "http://127.0.0.1:1/"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("only http:// proxies"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid_request"), std::string::npos) << r.err;
}

TEST(ProxyUsage, BadProxyUrlIsAUsageError) {
  for (const auto* proxy : {"ftp://127.0.0.1:21", "127.0.0.1:3128", "http://", "http://a b"}) {
    const auto r = run_child(with_env({}, {"-x", proxy, "http://127.0.0.1:1/"}));
    EXPECT_EQ(r.exit_code, 2) << proxy << r.err;
  }
}

}  // namespace
}  // namespace fetchpipe::test
