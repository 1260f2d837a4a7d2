// The connect clock covers the TCP connect and the TLS handshake, on every transport: a connect
// that never completes and a handshake the server never answers both end as connect_timeout,
// which is retried (the request never left). And a name that cannot resolve is dns_failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "conformance_support.hpp"

namespace fetchpipe::conformance {
namespace {

// A listener on 127.0.0.1 that never accepts. With `fill_backlog`, its accept queue is filled
// first, so the kernel drops further SYNs and a client's TCP connect hangs (checked on this
// kernel: the client stays in SYN_SENT). Without it, the kernel completes TCP connects into the
// queue, and a TLS client then waits forever for the server's handshake.
class SilentListener {
 public:
  explicit SilentListener(bool fill_backlog) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd_, fill_backlog ? 0 : 16), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    for (int i = 0; fill_backlog && i < 4; ++i) {
      const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
      fillers_.push_back(filler);
    }
  }
  ~SilentListener() {
    for (const int fd : fillers_) ::close(fd);
    ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

class ConformanceConnect : public ::testing::TestWithParam<std::string> {
 protected:
  // Fetches `url` with a 300 ms connect timeout and two attempts; checks both timed out.
  static void expect_two_connect_timeouts(const std::string& url) {
    Runner run(
        GetParam(), [](ClientOptions& o) { o.timeouts.connect = 300ms; },
        DefaultRetryPolicy::Options{.max_attempts = 2});
    const auto t0 = Clock::now();
    auto out = run.fetch({.url = url});
    ASSERT_EQ(out.terminal, "failure");
    EXPECT_EQ(out.error->kind, ErrorKind::connect_timeout) << out.error->message;
    EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted) << out.error->message;
    EXPECT_EQ(out.attempts(), 2u);
    // Two connect timeouts and a short backoff, not an attempt timeout (10 s).
    EXPECT_LT(out.ended - t0, 2s * kSlack);
  }
};

TEST_P(ConformanceConnect, HungTcpConnectIsConnectTimeoutAndRetried) {
  SilentListener listener(/*fill_backlog=*/true);
  expect_two_connect_timeouts("http://127.0.0.1:" + std::to_string(listener.port()) + "/fixed");
}

TEST_P(ConformanceConnect, HungTlsHandshakeIsConnectTimeoutAndRetried) {
  SilentListener listener(/*fill_backlog=*/false);
  expect_two_connect_timeouts("https://127.0.0.1:" + std::to_string(listener.port()) + "/fixed");
}

TEST_P(ConformanceConnect, UnresolvableNameIsDnsFailureAndRetried) {
  // A plain `x.invalid` would make glibc ask the configured name server, which is not on
  // loopback here. A label longer than DNS allows (64 > 63 bytes) fails inside the local
  // resolver before any query is built, so nothing leaves the machine (checked with strace).
  Runner run(GetParam(), {}, DefaultRetryPolicy::Options{.max_attempts = 2});
  auto out = run.fetch({.url = "http://" + std::string(64, 'a') + ".invalid/fixed"});
  ASSERT_EQ(out.terminal, "failure");
  EXPECT_EQ(out.error->kind, ErrorKind::dns_failure) << out.error->message;
  EXPECT_EQ(out.error->reason, GiveUpReason::attempts_exhausted) << out.error->message;
  EXPECT_EQ(out.attempts(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceConnect, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance
