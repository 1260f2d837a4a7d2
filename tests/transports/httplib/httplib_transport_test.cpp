// HttplibTransport driven directly (no pipeline) against the fault server: streaming, status
// codes, every failure class, the clocks, cancellation, the pool and shutdown.
#include "fetchpipe/transports/httplib_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fetchpipe/tools/fault_server.hpp"
#include "recording_observer.hpp"
#include "tls_fault_server.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using testing::RecordingObserver;
using tools::FaultServer;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlowdown = 3;  // sanitizers slow everything; promptness limits scale with it
#else
constexpr int kSlowdown = 1;
#endif

std::string byte_pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::chrono::milliseconds ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t);
}

// A port on 127.0.0.1 that nothing listens on: bound (so nobody else takes it) but not listening.
class ClosedPort {
 public:
  ClosedPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  [[nodiscard]] int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

// A listener that never accepts and whose accept queue is full, so a new connect hangs in
// SYN_SENT: the only way to hold a client inside connect() on loopback.
class FullBacklog {
 public:
  FullBacklog() : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 4; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(fd);
    }
  }
  ~FullBacklog() {
    for (int fd : fillers_) ::close(fd);
    ::close(listener_);
  }
  [[nodiscard]] int port() const { return port_; }

 private:
  int listener_;
  int port_ = 0;
  std::vector<int> fillers_;
};

// Sockets this process holds open, by inode (client and in-process server sides alike).
std::set<std::string> open_sockets() {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:", 0) == 0) out.insert(target);
  }
  return out;
}

class HttplibTransportTest : public ::testing::Test {
 protected:
  // A spec for `observer`'s request: deadline from now, short connect timeout.
  ExchangeSpec spec(const RecordingObserver& observer, std::chrono::milliseconds deadline = 10s) {
    ExchangeSpec s;
    s.request = &observer.request();
    s.deadline = Clock::now() + deadline;
    s.connect_timeout = 2s;
    s.tls = &tls_;
    return s;
  }

  static std::shared_ptr<RecordingObserver> make(std::string url, std::string method = "GET") {
    return std::make_shared<RecordingObserver>(Request{.method = std::move(method), .url = std::move(url)});
  }

  // Polls (bounded) until the server has seen `n` requests with key=K: the request is in flight.
  bool server_saw(const std::string& key, int n) { return server_saw_on(server_, key, n); }
  static bool server_saw_on(const FaultServer& server, const std::string& key, int n = 1) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (server.count(key) < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  // Fetches `path` with a 300 ms stall timeout and expects stall_timeout about 300 ms after the
  // request was sent (it is sent at once: loopback, nothing queued).
  std::shared_ptr<RecordingObserver> expect_stall_timeout(const std::string& path) {
    HttplibTransport transport;
    auto obs = make(server_.url(path));
    ExchangeSpec s = spec(*obs);
    s.stall_timeout = 300ms;
    const auto t0 = std::chrono::steady_clock::now();
    auto ex = transport.start(s, obs);
    EXPECT_TRUE(obs->wait());
    EXPECT_EQ(obs->error(), ErrorKind::stall_timeout) << obs->result().message;
    EXPECT_GE(obs->completed_at() - t0, 290ms);
    EXPECT_LT(obs->completed_at() - t0, 300ms + 200ms * kSlowdown);
    return obs;
  }

  FaultServer server_;
  TlsOptions tls_;
};

// ---- success paths ----------------------------------------------------------------------------

TEST_F(HttplibTransportTest, Get_StreamsBodyInOrder) {
  HttplibTransport transport;
  for (const char* chunked : {"0", "1"}) {
    auto obs = make(server_.url(std::string("/bytes?n=200000&chunked=") + chunked));
    auto ex = transport.start(spec(*obs), obs);
    ASSERT_TRUE(obs->wait());
    EXPECT_FALSE(obs->error()) << obs->result().message;
    EXPECT_EQ(obs->status(), 200);
    EXPECT_EQ(obs->body(), byte_pattern(200000));
    EXPECT_GE(obs->body_chunks(), 2u);
    EXPECT_TRUE(obs->order_ok());
  }
}

TEST_F(HttplibTransportTest, Status_ReportedNotFailed) {
  HttplibTransport transport;
  for (int code : {201, 404, 500, 503}) {
    auto obs = make(server_.url("/status?code=" + std::to_string(code)));
    auto ex = transport.start(spec(*obs), obs);
    ASSERT_TRUE(obs->wait());
    EXPECT_FALSE(obs->error()) << obs->result().message;
    EXPECT_EQ(obs->status(), code);
    EXPECT_EQ(obs->body(), "status " + std::to_string(code) + "\n");
  }
}

TEST_F(HttplibTransportTest, Redirect_NotFollowed) {
  HttplibTransport transport;
  auto obs = make(server_.url("/redirect?n=1"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_FALSE(obs->error()) << obs->result().message;
  EXPECT_EQ(obs->status(), 302);
  ASSERT_TRUE(obs->head());
  EXPECT_TRUE(obs->head()->headers.contains("location"));
}

TEST_F(HttplibTransportTest, Post_SendsMethodHeadersAndBody) {
  HttplibTransport transport;
  auto obs = std::make_shared<RecordingObserver>(Request{.method = "POST",
                                                         .url = server_.url("/echo?x=1"),
                                                         .headers = {{"X-Test", "one"}, {"X-Test", "two"}},
                                                         .body = "hello body"});
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  ASSERT_FALSE(obs->error()) << obs->result().message;
  const std::string echo = obs->body();
  EXPECT_NE(echo.find("method POST\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("target /echo?x=1\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("header X-Test: one\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("header X-Test: two\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("header Content-Type: application/octet-stream\n"), std::string::npos) << echo;
  EXPECT_NE(echo.find("body-length 10\n"), std::string::npos) << echo;
  EXPECT_EQ(echo.substr(echo.size() - 10), "hello body");
}

TEST_F(HttplibTransportTest, Put_KeepsGivenContentTypeAndMethod) {
  HttplibTransport transport;
  for (const char* method : {"PUT", "DELETE", "PATCH"}) {
    auto obs = std::make_shared<RecordingObserver>(
        Request{.method = method, .url = server_.url("/echo"),
                .headers = {{"Content-Type", "application/json"}}, .body = "{}"});
    auto ex = transport.start(spec(*obs), obs);
    ASSERT_TRUE(obs->wait());
    ASSERT_FALSE(obs->error()) << obs->result().message;
    const std::string echo = obs->body();
    EXPECT_NE(echo.find(std::string("method ") + method + "\n"), std::string::npos) << echo;
    EXPECT_NE(echo.find("header Content-Type: application/json\n"), std::string::npos) << echo;
    EXPECT_EQ(echo.find("octet-stream"), std::string::npos) << echo;
  }
}

TEST_F(HttplibTransportTest, Head_HasNoBody) {
  HttplibTransport transport;
  auto obs = make(server_.url("/bytes?n=5000"), "HEAD");
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_FALSE(obs->error()) << obs->result().message;
  EXPECT_EQ(obs->status(), 200);
  EXPECT_EQ(obs->body(), "");
}

TEST_F(HttplibTransportTest, KeepAlive_ReusesTheConnection) {
  HttplibTransport transport({.workers = 1});
  auto first = make(server_.url("/fixed"));
  auto e1 = transport.start(spec(*first), first);
  ASSERT_TRUE(first->wait());
  ASSERT_FALSE(first->error()) << first->result().message;
  const auto after_first = open_sockets();
  for (int i = 0; i < 5; ++i) {
    auto next = make(server_.url("/fixed"));
    auto e = transport.start(spec(*next), next);
    ASSERT_TRUE(next->wait());
    ASSERT_FALSE(next->error()) << next->result().message;
  }
  // No socket opened or closed: the same connection (both its ends, the server being in-process)
  // served all six requests.
  EXPECT_EQ(open_sockets(), after_first);
}

// ---- failures ---------------------------------------------------------------------------------

TEST_F(HttplibTransportTest, ConnectRefused_IsConnectFailure) {
  HttplibTransport transport;
  ClosedPort closed;
  auto obs = make("http://127.0.0.1:" + std::to_string(closed.port()) + "/fixed");
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::connect_failure) << obs->result().message;
}

TEST_F(HttplibTransportTest, UnresolvableName_IsDnsFailure) {
  // A label over 63 bytes fails inside glibc's resolver before any query is built: nothing is
  // sent to this machine's (non-loopback) name server. Also end to end in conformance_connect_test.
  HttplibTransport transport;
  auto obs = make("http://" + std::string(64, 'a') + ".invalid/fixed");
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::dns_failure) << obs->result().message;
}

TEST_F(HttplibTransportTest, FullAcceptQueue_IsConnectTimeout) {
  HttplibTransport transport;
  FullBacklog backlog;
  auto obs = make("http://127.0.0.1:" + std::to_string(backlog.port()) + "/fixed");
  ExchangeSpec s = spec(*obs);
  s.connect_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::connect_timeout) << obs->result().message;
  EXPECT_LT(ms_since(t0), 2000ms);
}

TEST_F(HttplibTransportTest, Reset_IsConnectionReset) {
  HttplibTransport transport;
  auto obs = make(server_.url("/reset"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::connection_reset) << obs->result().message;
}

TEST_F(HttplibTransportTest, Truncate_IsConnectionReset) {
  HttplibTransport transport;
  auto obs = make(server_.url("/truncate?n=1000&sent=100"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::connection_reset) << obs->result().message;
  EXPECT_EQ(obs->status(), 200);
  EXPECT_LE(obs->body().size(), 100u);
}

TEST_F(HttplibTransportTest, InvalidUrl_IsInvalidRequest) {
  HttplibTransport transport;
  auto obs = make("ftp://example.org/");
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::invalid_request) << obs->result().message;
}

// ---- clocks -----------------------------------------------------------------------------------

TEST_F(HttplibTransportTest, HangPastDeadline_IsAttemptTimeout) {
  HttplibTransport transport;
  auto obs = make(server_.url("/hang"));
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = transport.start(spec(*obs, 300ms), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::attempt_timeout) << obs->result().message;
  EXPECT_GE(ms_since(t0), 290ms);
  EXPECT_LT(obs->completed_at() - t0, 300ms + 100ms * kSlowdown);
}

TEST_F(HttplibTransportTest, SlowBodyPastDeadline_IsAttemptTimeout) {
  // Each chunk arrives well within any per-read timeout; only a total deadline ends this.
  HttplibTransport transport;
  auto obs = make(server_.url("/drip?n=1000&interval_ms=50&chunk=1"));
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = transport.start(spec(*obs, 400ms), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::attempt_timeout) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 400ms + 100ms * kSlowdown);
  EXPECT_GT(obs->body().size(), 0u);
}

TEST_F(HttplibTransportTest, DripSlowerThanStall_IsStallTimeout) {
  auto obs = expect_stall_timeout("/drip?n=100&interval_ms=2000&chunk=10");
  EXPECT_EQ(obs->status(), 200);
}

TEST_F(HttplibTransportTest, HangWithStall_IsStallTimeout) {
  // The server reads the request and never answers: no response byte at all.
  expect_stall_timeout("/hang");
}

// The stall clock: no response byte (head or body) for the stall time once the request was sent.
// Connecting is the connect clock's business, and every response byte is progress.

TEST_F(HttplibTransportTest, HeadTricklingFasterThanStall_IsNotAStall) {
  // 8 header lines, one per 100 ms: 800 ms of head, never 300 ms without a byte.
  HttplibTransport transport;
  auto obs = make(server_.url("/header-drip?lines=8&interval_ms=100"));
  ExchangeSpec s = spec(*obs);
  s.stall_timeout = 300ms;
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_FALSE(obs->error()) << obs->result().message;
  EXPECT_EQ(obs->status(), 200);
}

TEST_F(HttplibTransportTest, StatusLineThenSilence_IsStallTimeoutAfterTheStall) {
  // The status line arrives at once, the first header line only after a minute.
  expect_stall_timeout("/header-drip?lines=0&interval_ms=60000&max_ms=120000");
}

TEST_F(HttplibTransportTest, TcpConnectSlowerThanStall_IsConnectTimeoutNotStall) {
  HttplibTransport transport;
  FullBacklog backlog;
  auto obs = make("http://127.0.0.1:" + std::to_string(backlog.port()) + "/fixed");
  ExchangeSpec s = spec(*obs);
  s.connect_timeout = 600ms;
  s.stall_timeout = 100ms;
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::connect_timeout) << obs->result().message;
}

TEST_F(HttplibTransportTest, TlsHandshakeSlowerThanStall_IsConnectTimeoutNotStall) {
  // A listener that never accepts: TCP connects (the kernel queues it), the handshake hangs.
  HttplibTransport transport;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  auto obs = make("https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/fixed");
  ExchangeSpec s = spec(*obs);
  s.connect_timeout = 600ms;
  s.stall_timeout = 100ms;
  auto ex = transport.start(s, obs);
  const bool ended = obs->wait();
  ::close(listener);
  ASSERT_TRUE(ended);
  EXPECT_EQ(obs->error(), ErrorKind::connect_timeout) << obs->result().message;
}

TEST_F(HttplibTransportTest, DripFasterThanStall_Succeeds) {
  HttplibTransport transport;
  auto obs = make(server_.url("/drip?n=60&interval_ms=20&chunk=10"));
  ExchangeSpec s = spec(*obs);
  s.stall_timeout = 1s;
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_FALSE(obs->error()) << obs->result().message;
  EXPECT_EQ(obs->body(), byte_pattern(60));
}

// ---- cancellation -----------------------------------------------------------------------------

TEST_F(HttplibTransportTest, CancelHungRequest_CompletesCancelledWithin100ms) {
  HttplibTransport transport;
  auto obs = make(server_.url("/hang?key=c"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(server_saw("c", 1));
  const auto t0 = std::chrono::steady_clock::now();
  ex->cancel();
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::cancelled) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 100ms * kSlowdown);
  // The worker is free again: the pool serves the next request.
  auto next = make(server_.url("/fixed"));
  auto e2 = transport.start(spec(*next), next);
  ASSERT_TRUE(next->wait());
  EXPECT_FALSE(next->error()) << next->result().message;
}

TEST_F(HttplibTransportTest, CancelOnReusedConnection_IsPrompt) {
  HttplibTransport transport({.workers = 1});
  auto warm = make(server_.url("/fixed"));
  auto e1 = transport.start(spec(*warm), warm);
  ASSERT_TRUE(warm->wait());
  ASSERT_FALSE(warm->error()) << warm->result().message;
  // Same worker, same origin: this one rides the kept-alive connection.
  auto obs = make(server_.url("/hang?key=r"));
  auto e2 = transport.start(spec(*obs), obs);
  ASSERT_TRUE(server_saw("r", 1));
  const auto t0 = std::chrono::steady_clock::now();
  e2->cancel();
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::cancelled) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 100ms * kSlowdown);
}

TEST_F(HttplibTransportTest, DeadlineOnReusedConnection_IsAttemptTimeout) {
  HttplibTransport transport({.workers = 1});
  auto warm = make(server_.url("/fixed"));
  auto e1 = transport.start(spec(*warm), warm);
  ASSERT_TRUE(warm->wait());
  auto obs = make(server_.url("/hang"));
  const auto t0 = std::chrono::steady_clock::now();
  auto e2 = transport.start(spec(*obs, 300ms), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::attempt_timeout) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 300ms + 100ms * kSlowdown);
}

TEST_F(HttplibTransportTest, CancelDuringConnect_IsPrompt) {
  HttplibTransport transport;
  FullBacklog backlog;
  auto obs = make("http://127.0.0.1:" + std::to_string(backlog.port()) + "/fixed");
  ExchangeSpec s = spec(*obs);
  s.connect_timeout = 5s;
  auto ex = transport.start(s, obs);
  EXPECT_FALSE(obs->wait(200ms));  // stuck connecting
  const auto t0 = std::chrono::steady_clock::now();
  ex->cancel();
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::cancelled) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 100ms * kSlowdown);
}

TEST_F(HttplibTransportTest, CancelQueued_CompletesWithoutAWorker) {
  HttplibTransport transport({.workers = 1});
  auto hung = make(server_.url("/hang?key=q"));
  auto e1 = transport.start(spec(*hung), hung);
  ASSERT_TRUE(server_saw("q", 1));
  auto queued = make(server_.url("/fixed?key=never"));
  auto e2 = transport.start(spec(*queued), queued);
  const auto t0 = std::chrono::steady_clock::now();
  e2->cancel();
  ASSERT_TRUE(queued->wait());
  EXPECT_EQ(queued->error(), ErrorKind::cancelled);
  EXPECT_LT(queued->completed_at() - t0, 100ms * kSlowdown);
  e1->cancel();
  ASSERT_TRUE(hung->wait());
  EXPECT_EQ(server_.count("never"), 0);
}

TEST_F(HttplibTransportTest, CancelAfterCompletion_IsNoOp) {
  HttplibTransport transport;
  auto obs = make(server_.url("/fixed"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  ex->cancel();
  ex->cancel();
  EXPECT_FALSE(obs->error());
  EXPECT_EQ(obs->completions(), 1);
}

TEST_F(HttplibTransportTest, OnBodyFalse_StopsAsCancelled) {
  HttplibTransport transport;
  auto obs = make(server_.url("/bytes?n=1000000&chunked=1"));
  obs->stop_after_bytes(1);
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::cancelled) << obs->result().message;
  EXPECT_EQ(obs->body_chunks(), 1u);
  EXPECT_TRUE(obs->order_ok());
}

TEST_F(HttplibTransportTest, ObserverThrows_IsInternalErrorAndWorkerSurvives) {
  HttplibTransport transport({.workers = 1});
  auto obs = make(server_.url("/bytes?n=5000"));
  obs->throw_in_body();
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::internal_error);
  EXPECT_NE(obs->result().message.find("observer failure for the test"), std::string::npos)
      << obs->result().message;
  auto next = make(server_.url("/fixed"));
  auto e2 = transport.start(spec(*next), next);
  ASSERT_TRUE(next->wait());
  EXPECT_FALSE(next->error()) << next->result().message;
}

// ---- body limit -------------------------------------------------------------------------------

TEST_F(HttplibTransportTest, ContentLengthOverLimit_RefusedBeforeBody) {
  HttplibTransport transport;
  auto obs = make(server_.url("/bytes?n=10000"));
  ExchangeSpec s = spec(*obs);
  s.max_body_bytes = 100;
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::body_too_large) << obs->result().message;
  EXPECT_EQ(obs->status(), 200);
  EXPECT_EQ(obs->body(), "");
}

TEST_F(HttplibTransportTest, ChunkedOverLimit_StoppedWhileStreaming) {
  HttplibTransport transport;
  auto obs = make(server_.url("/bytes?n=100000&chunked=1"));
  ExchangeSpec s = spec(*obs);
  s.max_body_bytes = 100;
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::body_too_large) << obs->result().message;
  EXPECT_LE(obs->body().size(), 100u);
}

TEST_F(HttplibTransportTest, BodyAtLimit_Succeeds) {
  HttplibTransport transport;
  auto obs = make(server_.url("/bytes?n=100"));
  ExchangeSpec s = spec(*obs);
  s.max_body_bytes = 100;
  auto ex = transport.start(s, obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_FALSE(obs->error()) << obs->result().message;
  EXPECT_EQ(obs->body().size(), 100u);
}

// ---- the head bound ---------------------------------------------------------------------------

// Samples the heap in use (mallinfo2) every 2 ms on a thread of its own; peak() is the most seen.
class HeapPeak {
 public:
  HeapPeak() : base_(in_use()), thread_([this] { run(); }) {}
  ~HeapPeak() {
    stop_ = true;
    thread_.join();
  }
  [[nodiscard]] std::size_t growth() const { return peak_.load() > base_ ? peak_.load() - base_ : 0; }

 private:
  static std::size_t in_use() { return ::mallinfo2().uordblks; }
  void run() {
    while (!stop_) {
      std::size_t now = in_use();
      if (now > peak_.load()) peak_ = now;
      std::this_thread::sleep_for(2ms);
    }
  }
  std::size_t base_;
  std::atomic<std::size_t> peak_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(HttplibTransportTest, EndlessHeadLines_StoppedAtTheHeadBoundWhileArriving) {
  // Up to 16 lines of 1000 bytes a millisecond, for at most 20 s: cpp-httplib itself would keep
  // every line. The transport must cut the head at 256 KiB as it arrives, not at the deadline.
  HttplibTransport transport;
  auto obs = make(server_.url("/header-drip?lines=0&bytes=1000&per_tick=16&interval_ms=1&max_ms=20000"));
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t growth = 0;
  {
    HeapPeak heap;
    auto ex = transport.start(spec(*obs, 3s), obs);
    ASSERT_TRUE(obs->wait());
    growth = heap.growth();
  }
  EXPECT_EQ(obs->error(), ErrorKind::connection_reset) << obs->result().message;
  EXPECT_NE(obs->result().message.find("head exceeds"), std::string::npos) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 1500ms * kSlowdown);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // 256 KiB of head, cpp-httplib's copy of it in a map, buffers: a few MiB at most.
  EXPECT_LT(growth, std::size_t{4} << 20) << "heap grew by " << growth << " bytes";
#else
  (void)growth;  // allocator figures under sanitizers say nothing about the transport
#endif
}

// ---- HTTPS ------------------------------------------------------------------------------------

class HttplibTransportTlsTest : public HttplibTransportTest {
 protected:
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir(), ec);
  }
  static std::filesystem::path temp_dir() {
    static const auto dir = [] {
      auto d = std::filesystem::temp_directory_path() /
               ("fetchpipe-httplib-test-" + std::to_string(::getpid()));
      std::filesystem::create_directories(d);
      return d;
    }();
    return dir;
  }
};

TEST_F(HttplibTransportTlsTest, TrustedCa_Verifies) {
  const auto certs = tools::make_test_certificates(temp_dir() / "good");
  FaultServer tls_server({.tls = true, .tls_cert_file = certs.server_cert_file,
                          .tls_key_file = certs.server_key_file});
  tls_.ca_file = certs.ca_cert_file.string();
  HttplibTransport transport;
  auto obs = make(tls_server.tls_url("/fixed"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_FALSE(obs->error()) << obs->result().message;
  EXPECT_EQ(obs->body(), "hello from fetchpipe\n");
}

TEST_F(HttplibTransportTlsTest, UntrustedCa_IsTlsFailure) {
  const auto certs = tools::make_test_certificates(temp_dir() / "served");
  const auto other = tools::make_test_certificates(temp_dir() / "other");
  FaultServer tls_server({.tls = true, .tls_cert_file = certs.server_cert_file,
                          .tls_key_file = certs.server_key_file});
  tls_.ca_file = other.ca_cert_file.string();
  HttplibTransport transport;
  auto obs = make(tls_server.tls_url("/fixed"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::tls_failure) << obs->result().message;
}

TEST_F(HttplibTransportTlsTest, HangOverTls_CancelIsPrompt) {
  const auto certs = tools::make_test_certificates(temp_dir() / "hang");
  FaultServer tls_server({.tls = true, .tls_cert_file = certs.server_cert_file,
                          .tls_key_file = certs.server_key_file});
  tls_.ca_file = certs.ca_cert_file.string();
  HttplibTransport transport;
  auto obs = make(tls_server.tls_url("/hang?key=t"));
  auto ex = transport.start(spec(*obs), obs);
  ASSERT_TRUE(server_saw_on(tls_server, "t"));
  const auto t0 = std::chrono::steady_clock::now();
  ex->cancel();
  ASSERT_TRUE(obs->wait());
  EXPECT_EQ(obs->error(), ErrorKind::cancelled) << obs->result().message;
  EXPECT_LT(obs->completed_at() - t0, 100ms * kSlowdown);
}

// ---- trust store: ca_file / ca_path replace the system store, and both count -----------------

TlsOptions trusting(std::string ca_file, std::string ca_path) {
  TlsOptions tls;
  tls.ca_file = std::move(ca_file);
  tls.ca_path = std::move(ca_path);
  return tls;
}

// One fetch of `url` on a fresh transport with `tls`: how it ended.
ExchangeResult fetch_with(const std::string& url, const TlsOptions& tls) {
  HttplibTransport transport;
  auto obs = std::make_shared<RecordingObserver>(Request{.url = url});
  ExchangeSpec s;
  s.request = &obs->request();
  s.deadline = Clock::now() + 10s;
  s.connect_timeout = 2s;
  s.tls = &tls;
  auto ex = transport.start(s, obs);
  if (!obs->wait()) return ExchangeResult{.error = ErrorKind::internal_error, .message = "no completion"};
  return obs->result();
}

// The error of `result`, printing its message when the expectation fails.
#define EXPECT_ENDS(result, expected)                   \
  do {                                                  \
    const ExchangeResult r_ = (result);                 \
    EXPECT_EQ(r_.error, expected) << r_.message;        \
  } while (false)

TEST_F(HttplibTransportTlsTest, CaFileAndCaPath_BothAreTrusted) {
  testing::TlsFaultServer tls("httplib-both");
  // Another CA of another name (two CAs of one name shadow each other in OpenSSL's lookups).
  const auto other = tools::make_test_certificates(temp_dir() / "both-other",
                                                   {.ca_name = "another CA", .server_names = "DNS:localhost"});
  const auto served_dir = testing::make_hashed_ca_dir(tls.certs().ca_cert_file, temp_dir() / "both-served");
  const auto other_dir = testing::make_hashed_ca_dir(other.ca_cert_file, temp_dir() / "both-other-dir");
  const std::string url = tls.server().tls_url("/fixed");
  // Only the directory vouches for the server.
  EXPECT_ENDS(fetch_with(url, trusting(other.ca_cert_file.string(), served_dir.string())),
            std::nullopt);
  // Only the file vouches for the server.
  EXPECT_ENDS(fetch_with(url, trusting(tls.certs().ca_cert_file.string(), other_dir.string())),
            std::nullopt);
  // Neither does.
  EXPECT_ENDS(fetch_with(url, trusting(other.ca_cert_file.string(), other_dir.string())),
            ErrorKind::tls_failure);
}

TEST_F(HttplibTransportTlsTest, CaFileOrCaPath_ReplacesTheSystemStore) {
  // OpenSSL's default store is pointed at the CA that signed the server: the "system" trusts it.
  testing::TlsFaultServer tls("httplib-system");
  const auto other = tools::make_test_certificates(temp_dir() / "system-other");
  const auto other_dir = testing::make_hashed_ca_dir(other.ca_cert_file, temp_dir() / "system-other-dir");
  std::filesystem::create_directories(temp_dir() / "system-empty");
  testing::ScopedEnv system_file("SSL_CERT_FILE", tls.certs().ca_cert_file.string());
  testing::ScopedEnv system_dir("SSL_CERT_DIR", (temp_dir() / "system-empty").string());
  const std::string url = tls.server().tls_url("/fixed");
  // Control: with neither option set the system store is used, and it trusts the server.
  EXPECT_ENDS(fetch_with(url, TlsOptions{}), std::nullopt);
  // Either option alone, or both, must be the only trust: the system store no longer counts.
  EXPECT_ENDS(fetch_with(url, trusting(other.ca_cert_file.string(), "")), ErrorKind::tls_failure);
  EXPECT_ENDS(fetch_with(url, trusting("", other_dir.string())), ErrorKind::tls_failure);
  EXPECT_ENDS(fetch_with(url, trusting(other.ca_cert_file.string(), other_dir.string())),
            ErrorKind::tls_failure);
}

// ---- pool and shutdown ------------------------------------------------------------------------

TEST_F(HttplibTransportTest, PoolOfNWithNPlus50Hung_FreesItselfWithinDeadlinePlus1s) {
  constexpr std::size_t kWorkers = 4;
  constexpr auto kDeadline = 500ms;
  HttplibTransport transport({.workers = kWorkers});
  std::vector<std::shared_ptr<RecordingObserver>> observers;
  std::vector<std::shared_ptr<Exchange>> exchanges;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < kWorkers + 50; ++i) {
    observers.push_back(make(server_.url("/hang")));
    exchanges.push_back(transport.start(spec(*observers.back(), kDeadline), observers.back()));
  }
  for (auto& obs : observers) {
    ASSERT_TRUE(obs->wait(kDeadline + 1s));
    EXPECT_EQ(obs->error(), ErrorKind::attempt_timeout) << obs->result().message;
  }
  auto next = make(server_.url("/fixed"));
  auto e = transport.start(spec(*next), next);
  ASSERT_TRUE(next->wait());
  EXPECT_FALSE(next->error()) << next->result().message;
  EXPECT_LT(next->completed_at() - t0, kDeadline + 1s);
}

TEST_F(HttplibTransportTest, Destructor_CancelsHungAndQueuedExchanges) {
  std::vector<std::shared_ptr<RecordingObserver>> observers;
  std::vector<std::shared_ptr<Exchange>> exchanges;
  std::chrono::steady_clock::time_point t0;
  {
    HttplibTransport transport({.workers = 2});
    for (int i = 0; i < 6; ++i) {
      observers.push_back(make(server_.url("/hang?key=d")));
      exchanges.push_back(transport.start(spec(*observers.back(), 60s), observers.back()));
    }
    ASSERT_TRUE(server_saw("d", 2));
    t0 = std::chrono::steady_clock::now();
  }
  EXPECT_LT(ms_since(t0), 500ms * kSlowdown);
  for (auto& obs : observers) {
    EXPECT_EQ(obs->completions(), 1);
    EXPECT_EQ(obs->error(), ErrorKind::cancelled) << obs->result().message;
  }
  for (auto& ex : exchanges) ex->cancel();  // handles outlive the transport: a no-op
}

TEST_F(HttplibTransportTest, CrossThreadCancels_ExactlyOneCompletionEach) {
  constexpr int kCount = 1000;
  std::vector<std::shared_ptr<RecordingObserver>> observers;
  std::vector<std::shared_ptr<Exchange>> exchanges(kCount);
  for (int i = 0; i < kCount; ++i) observers.push_back(make(server_.url("/delay?ms=20")));
  {
    HttplibTransport transport({.workers = 8});
    std::atomic<int> published{0};
    auto canceller = [&](unsigned seed) {
      std::mt19937 rng(seed);
      int seen = 0;
      while (seen < kCount) {
        const int n = published.load(std::memory_order_acquire);
        for (; seen < n; ++seen) {
          if (rng() % 3 == 0) exchanges[static_cast<std::size_t>(seen)]->cancel();
        }
        std::this_thread::yield();
      }
    };
    std::thread c1(canceller, 1u);
    std::thread c2(canceller, 2u);
    for (int i = 0; i < kCount; ++i) {
      exchanges[static_cast<std::size_t>(i)] =
          transport.start(spec(*observers[static_cast<std::size_t>(i)], 60s), observers[static_cast<std::size_t>(i)]);
      published.store(i + 1, std::memory_order_release);
    }
    c1.join();
    c2.join();
    for (auto& obs : observers) ASSERT_TRUE(obs->wait(60s));
  }
  int cancelled = 0;
  for (auto& obs : observers) {
    EXPECT_EQ(obs->completions(), 1);
    EXPECT_TRUE(obs->order_ok());
    const auto error = obs->error();
    if (error) {
      EXPECT_EQ(*error, ErrorKind::cancelled) << obs->result().message;
      ++cancelled;
    } else {
      EXPECT_EQ(obs->body(), "delayed 20 ms\n");
    }
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_LT(cancelled, kCount);
}

TEST(HttplibTransportOptions, Validation_RejectsZeroWorkers) {
  EXPECT_THROW(HttplibTransport({.workers = 0}), std::invalid_argument);
  EXPECT_THROW(HttplibTransport({.clients_per_worker = 0}), std::invalid_argument);
  EXPECT_THROW(HttplibTransport({.timeout_margin = -1ms}), std::invalid_argument);
}

}  // namespace
}  // namespace fetchpipe
