// Integration tests of the fault server: every endpoint over real loopback sockets, observed with
// plain libcurl (easy and multi) or a raw socket where curl would hide the wire.
#include "fetchpipe/tools/fault_server.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using fetchpipe::tools::FaultServer;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// libcurl's global init is not thread-safe; do it once before any test runs.
const bool kCurlReady = curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string headers;
  curl_off_t content_length = -1;
  long redirects = 0;
  std::string effective_url;
  milliseconds elapsed{0};
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// Every transfer has a timeout, so no test can hang on a server bug.
void set_common(CURL* h, const std::string& url, Reply& reply) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
}

void collect(CURL* h, Reply& reply) {
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &reply.content_length);
  curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &reply.redirects);
  char* effective = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) reply.effective_url = effective;
}

Reply fetch(const std::string& url, const std::function<void(CURL*)>& configure = {}) {
  Reply reply;
  CURL* h = curl_easy_init();
  set_common(h, url, reply);
  if (configure) configure(h);
  const auto start = Clock::now();
  reply.code = curl_easy_perform(h);
  reply.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  collect(h, reply);
  curl_easy_cleanup(h);
  return reply;
}

std::string pattern(std::size_t offset, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
  return out;
}

bool is_reset(CURLcode code) { return code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING; }

std::string escape(const std::string& text) {
  char* out = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  std::string result(out);
  curl_free(out);
  return result;
}

// Polls `condition` until it holds or `limit` passes (for state owned by another thread).
bool eventually(const std::function<bool()>& condition, milliseconds limit = milliseconds(5000)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return condition();
}

// A raw connection to the plain listener, for what libcurl would not send or would hide.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }

  void send_all(const std::string& data) const {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  // Reads until `done(received)` holds, the peer closes, or 5 s pass.
  std::string read_until(const std::function<bool(const std::string&)>& done) const {
    std::string received;
    const auto deadline = Clock::now() + milliseconds(5000);
    while (!done(received) && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
    return received;
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++count;
  return count;
}

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() /
        ("fetchpipe-fault-server-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(FaultServer, ListensOnLoopbackEphemeralPort) {
  ASSERT_TRUE(kCurlReady);
  FaultServer server;
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(server.url("/fixed"), server.base_url() + "/fixed");
  EXPECT_EQ(server.cross_origin_url("/echo"),
            "http://localhost:" + std::to_string(server.port()) + "/echo");
  EXPECT_EQ(server.tls_port(), 0);
  EXPECT_EQ(server.tls_base_url(), "");
}

TEST(FaultServer, UsesTheGivenPort) {
  std::uint16_t port = 0;
  {
    FaultServer probe;
    port = probe.port();
  }
  FaultServer server({.port = port});
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(fetch(server.url("/fixed")).status, 200);
}

TEST(FaultServer, FixedReturnsSmallBody) {
  FaultServer server;
  const Reply r = fetch(server.url("/fixed"));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from fetchpipe\n");
}

TEST(FaultServer, KeepAliveReusesOneConnection) {
  FaultServer server;
  CURL* h = curl_easy_init();
  Reply reply;
  set_common(h, server.url("/fixed"), reply);
  long new_connections = 0;
  for (int i = 0; i < 200; ++i) {
    reply.body.clear();
    ASSERT_EQ(curl_easy_perform(h), CURLE_OK);
    long connects = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    new_connections += connects;
  }
  curl_easy_cleanup(h);
  EXPECT_EQ(new_connections, 1);
  EXPECT_EQ(server.total_count(), 200);
}

TEST(FaultServer, BytesSendsPatternWithContentLength) {
  FaultServer server;
  const Reply r = fetch(server.url("/bytes?n=100000"));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.content_length, 100000);
  EXPECT_EQ(r.body, pattern(0, 100000));
  EXPECT_EQ(fetch(server.url("/bytes")).body.size(), 1024u);
  EXPECT_EQ(fetch(server.url("/bytes?n=0")).body, "");
}

TEST(FaultServer, BytesStreamsFiftyMegabytesChunked) {
  FaultServer server;
  struct Check {
    std::size_t received = 0;
    bool pattern_ok = true;
  } check;
  std::string headers;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, server.url("/bytes?n=52428800&chunked=1").c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &headers);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &check);
  curl_easy_setopt(
      h, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* out) {
        auto* c = static_cast<Check*>(out);
        for (std::size_t i = 0; i < size * n; ++i) {
          if (data[i] != static_cast<char>('a' + (c->received + i) % 26)) c->pattern_ok = false;
        }
        c->received += size * n;
        return size * n;
      });
  EXPECT_EQ(curl_easy_perform(h), CURLE_OK);
  curl_easy_cleanup(h);
  EXPECT_EQ(check.received, 52428800u);
  EXPECT_TRUE(check.pattern_ok);
  EXPECT_NE(headers.find("Transfer-Encoding: chunked"), std::string::npos) << headers;
}

TEST(FaultServer, HeadAnnouncesLengthWithoutBody) {
  FaultServer server;
  const Reply r =
      fetch(server.url("/bytes?n=10"), [](CURL* h) { curl_easy_setopt(h, CURLOPT_NOBODY, 1L); });
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.content_length, 10);
  EXPECT_EQ(r.body, "");
}

TEST(FaultServer, StatusCopiesCodeAndRetryAfter) {
  FaultServer server;
  const Reply r =
      fetch(server.url("/status?code=429&retry_after=" + escape("Wed, 21 Oct 2015 07:28:00 GMT")));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.headers.find("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"), std::string::npos)
      << r.headers;
  EXPECT_EQ(fetch(server.url("/status?code=204")).status, 204);
  EXPECT_EQ(fetch(server.url("/status?code=599")).status, 599);
  EXPECT_EQ(fetch(server.url("/status?code=150")).status, 400);  // 1xx would never end
  EXPECT_EQ(fetch(server.url("/nowhere")).status, 404);
}

// Issue 7: a response head of about N bytes in L X-Big-i headers, for head-size limits.
TEST(FaultServer, BigHeaderSendsAHeadOfTheRequestedSize) {
  FaultServer server;
  const Reply r = fetch(server.url("/big-header?bytes=40000&lines=4&key=big"));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "big header\n");
  EXPECT_EQ(occurrences(r.headers, "X-Big-"), 4u);
  EXPECT_NE(r.headers.find("X-Big-4: " + pattern(0, 10000) + "\r\n"), std::string::npos);
  EXPECT_GT(r.headers.size(), 40000u);
  EXPECT_EQ(server.count("big"), 1);
}

TEST(FaultServer, FlakyFailsFirstRequestsThenSucceeds) {
  FaultServer server;
  const std::string url = server.url("/flaky?key=a&fail=2&status=500&retry_after=1");
  const Reply first = fetch(url);
  EXPECT_EQ(first.status, 500);
  EXPECT_NE(first.headers.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_EQ(fetch(url).status, 500);
  const Reply third = fetch(url);
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.body, "ok after 2 failures\n");
  EXPECT_EQ(server.count("a"), 3);
  EXPECT_EQ(fetch(server.url("/flaky?key=b")).status, 503);  // defaults: fail once, 503
  EXPECT_EQ(fetch(server.url("/flaky?key=b")).status, 200);
}

TEST(FaultServer, FlakyInjectsConnectionFaults) {
  FaultServer server;
  EXPECT_TRUE(is_reset(fetch(server.url("/flaky?key=r&fault=reset")).code));
  EXPECT_EQ(fetch(server.url("/flaky?key=r&fault=reset")).status, 200);
  EXPECT_EQ(fetch(server.url("/flaky?key=t&fault=truncate")).code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(fetch(server.url("/flaky?key=t&fault=truncate")).status, 200);
  const auto short_timeout = [](CURL* h) { curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 300L); };
  EXPECT_EQ(fetch(server.url("/flaky?key=h&fault=hang"), short_timeout).code,
            CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(fetch(server.url("/flaky?key=h&fault=hang"), short_timeout).status, 200);
}

TEST(FaultServer, CountsPerKeyAndInTotal) {
  FaultServer server;
  fetch(server.url("/fixed?key=x"));
  fetch(server.url("/status?code=503&key=x"));
  fetch(server.url("/fixed?key=y"));
  fetch(server.url("/fixed"));
  EXPECT_EQ(server.count("x"), 2);
  EXPECT_EQ(server.count("y"), 1);
  EXPECT_EQ(server.count("z"), 0);
  EXPECT_EQ(server.total_count(), 4);
  server.reset_counts();
  EXPECT_EQ(server.count("x"), 0);
  EXPECT_EQ(server.total_count(), 0);
}

TEST(FaultServer, ResetAbortsTheConnection) {
  FaultServer server;
  const Reply r = fetch(server.url("/reset"));
  EXPECT_TRUE(is_reset(r.code)) << curl_easy_strerror(r.code);
}

TEST(FaultServer, TruncateSendsLessThanAnnounced) {
  FaultServer server;
  const Reply r = fetch(server.url("/truncate?n=1000&sent=100"));
  EXPECT_EQ(r.code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(r.content_length, 1000);
  EXPECT_EQ(r.body, pattern(0, 100));
}

TEST(FaultServer, HangNeverAnswers) {
  FaultServer server;
  const Reply r =
      fetch(server.url("/hang"), [](CURL* h) { curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 300L); });
  EXPECT_EQ(r.code, CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(r.status, 0);
  // The server notices the client leaving; it still serves others.
  EXPECT_EQ(fetch(server.url("/fixed")).status, 200);
}

TEST(FaultServer, DripSendsChunksAtIntervals) {
  FaultServer server;
  const Reply r = fetch(server.url("/drip?n=50&interval_ms=20&chunk=10"));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.body, pattern(0, 50));
  EXPECT_GE(r.elapsed, milliseconds(95));  // five chunks, each after one interval
}

TEST(FaultServer, DelayAnswersAfterTheDelay) {
  FaultServer server;
  const Reply r = fetch(server.url("/delay?ms=200"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "delayed 200 ms\n");
  EXPECT_GE(r.elapsed, milliseconds(195));
}

TEST(FaultServer, DelayHoldsFiveHundredConcurrentRequests) {
  FaultServer server;
  constexpr int kRequests = 500;
  CURLM* multi = curl_multi_init();
  std::vector<Reply> replies(kRequests);
  std::vector<CURL*> handles;
  for (auto& reply : replies) {
    CURL* h = curl_easy_init();
    set_common(h, server.url("/delay?ms=1000"), reply);
    curl_multi_add_handle(multi, h);
    handles.push_back(h);
  }
  const auto start = Clock::now();
  const auto deadline = start + milliseconds(20000);
  int running = 1;
  while (running > 0 && Clock::now() < deadline) {
    curl_multi_perform(multi, &running);
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const auto elapsed = Clock::now() - start;
  int ok = 0;
  for (int msgs = 0; CURLMsg* msg = curl_multi_info_read(multi, &msgs);) {
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK && status == 200) ++ok;
  }
  for (CURL* h : handles) {
    curl_multi_remove_handle(multi, h);
    curl_easy_cleanup(h);
  }
  curl_multi_cleanup(multi);
  EXPECT_EQ(ok, kRequests);
  EXPECT_GE(elapsed, milliseconds(990));
  EXPECT_LT(elapsed, milliseconds(6000));
  EXPECT_EQ(server.total_count(), kRequests);
}

TEST(FaultServer, RedirectChainCountsEveryHop) {
  FaultServer server;
  const Reply r = fetch(server.url("/redirect?n=3&key=chain"),
                        [](CURL* h) { curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L); });
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from fetchpipe\n");
  EXPECT_EQ(r.redirects, 3);
  EXPECT_EQ(server.count("chain"), 4);

  const Reply one = fetch(server.url("/redirect?code=308"));
  EXPECT_EQ(one.status, 308);
  EXPECT_NE(one.headers.find("Location: /fixed\r\n"), std::string::npos) << one.headers;
}

TEST(FaultServer, RedirectLoopNeverEnds) {
  FaultServer server;
  const Reply r = fetch(server.url("/redirect-loop?key=loop"), [](CURL* h) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  });
  EXPECT_EQ(r.code, CURLE_TOO_MANY_REDIRECTS);
  EXPECT_EQ(server.count("loop"), 6);
}

TEST(FaultServer, RedirectToReachesAnotherOrigin) {
  FaultServer server;
  const std::string target = server.cross_origin_url("/echo");
  const Reply r = fetch(server.url("/redirect-to?code=302&url=" + escape(target)),
                        [](CURL* h) { curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L); });
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.effective_url, target);
  EXPECT_NE(r.body.find("header Host: localhost:" + std::to_string(server.port()) + "\n"),
            std::string::npos)
      << r.body;
}

TEST(FaultServer, EchoDescribesMethodTargetHeadersAndBody) {
  FaultServer server;
  curl_slist* headers = curl_slist_append(nullptr, "Authorization: Bearer secret");
  headers = curl_slist_append(headers, "X-Test: one two");
  const Reply r = fetch(server.url("/echo?a=1"), [headers](CURL* h) {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "line1\nline2");
  });
  curl_slist_free_all(headers);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("method PUT\ntarget /echo?a=1\n", 0), 0u) << r.body;
  EXPECT_NE(r.body.find("\nheader Authorization: Bearer secret\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nheader X-Test: one two\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nbody-length 11\n\nline1\nline2"), std::string::npos);
  EXPECT_EQ(r.body.substr(r.body.size() - 11), "line1\nline2");
}

TEST(FaultServer, Redirect307KeepsMethodAndBody) {
  FaultServer server;
  const Reply r = fetch(server.url("/redirect?n=2&code=307&to=/echo"), [](CURL* h) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "payload");
  });
  EXPECT_EQ(r.redirects, 2);
  EXPECT_EQ(r.body.rfind("method POST\ntarget /echo\n", 0), 0u) << r.body;
  EXPECT_NE(r.body.find("\nbody-length 7\n\npayload"), std::string::npos) << r.body;
}

TEST(FaultServer, EchoReceivesLargeBodyAfterExpectContinue) {
  FaultServer server;
  const std::string body =
      pattern(0, 2'000'000);  // large enough for curl to send Expect: 100-continue
  const Reply r = fetch(server.url("/echo"), [&body](CURL* h) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  });
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.elapsed, milliseconds(900));  // curl waits 1 s for a 100 that never comes
  EXPECT_NE(r.body.find("\nbody-length 2000000\n\n"), std::string::npos);
}

TEST(FaultServer, RawListenerHandlesPipelinedAndChunkedRequests) {
  FaultServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  client.send_all(
      "GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
      "GET /status?code=503 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string received =
      client.read_until([](const std::string&) { return false; });  // until close
  EXPECT_EQ(occurrences(received, "HTTP/1.1 200 OK\r\n"), 2u) << received;
  EXPECT_NE(received.find("hello from fetchpipe\n"), std::string::npos);
  EXPECT_NE(received.find("body-length 5\n\nabcde"), std::string::npos) << received;
  EXPECT_NE(received.find("HTTP/1.1 503 Service Unavailable\r\n"), std::string::npos);
  EXPECT_EQ(server.total_count(), 3);
}

TEST(FaultServer, RawListenerSendsHttp10BodiesWithoutChunks) {
  FaultServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  client.send_all("GET /bytes?n=5&chunked=1 HTTP/1.0\r\n\r\n");
  const std::string received = client.read_until([](const std::string&) { return false; });
  EXPECT_EQ(received.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << received;
  EXPECT_EQ(received.find("Transfer-Encoding"), std::string::npos) << received;
  EXPECT_EQ(received.substr(received.size() - 9), "\r\n\r\nabcde") << received;
}

TEST(FaultServer, RawListenerRejectsMalformedRequests) {
  FaultServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  client.send_all("NONSENSE\r\n\r\n");
  const std::string received = client.read_until([](const std::string&) { return false; });
  EXPECT_EQ(received.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << received;
  EXPECT_EQ(fetch(server.url("/fixed")).status, 200);
}

TEST(FaultServer, StopIsPromptWhileRequestsHangOrWait) {
  auto server = std::make_unique<FaultServer>();
  std::atomic<int> finished{0};
  std::vector<CURLcode> codes(2, CURLE_OK);
  const std::vector<std::string> urls{server->url("/hang"), server->url("/delay?ms=60000")};
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    clients.emplace_back([&, i] {
      codes[i] = fetch(urls[i]).code;  // 20 s timeout: bounded even if stop() were broken
      ++finished;
    });
  }
  ASSERT_TRUE(eventually([&] { return server->total_count() == 2; }));
  const auto start = Clock::now();
  server->stop();
  const auto stop_took = Clock::now() - start;
  EXPECT_LT(stop_took, milliseconds(2000));
  EXPECT_TRUE(eventually([&] { return finished == 2; }));
  for (auto& t : clients) t.join();
  EXPECT_NE(codes[0], CURLE_OK);
  EXPECT_NE(codes[1], CURLE_OK);
  server->stop();  // idempotent
  server.reset();
}

TEST(FaultServer, StopRefusesNewConnections) {
  FaultServer server;
  const std::string url = server.url("/fixed");
  server.stop();
  EXPECT_EQ(fetch(url).code, CURLE_COULDNT_CONNECT);
}

TEST(FaultServer, DescribesEndpoints) {
  FaultServer server;
  const std::string text = server.describe_endpoints();
  EXPECT_NE(text.find(server.base_url()), std::string::npos);
  for (const char* path :
       {"/fixed", "/bytes", "/status", "/flaky", "/delay", "/hang", "/reset", "/truncate", "/drip",
        "/redirect", "/redirect-loop", "/redirect-to", "/echo"}) {
    EXPECT_NE(text.find(path), std::string::npos) << path;
  }
}

// ---- TLS ---------------------------------------------------------------------------------------

class FaultServerTls : public ::testing::Test {
 protected:
  TempDir dir_;
  fetchpipe::tools::TestCertificates certs_ =
      fetchpipe::tools::make_test_certificates(dir_.path() / "trusted");
  FaultServer server_{{.tls = true,
                       .tls_cert_file = certs_.server_cert_file,
                       .tls_key_file = certs_.server_key_file}};

  [[nodiscard]] std::function<void(CURL*)> trusting(const std::filesystem::path& ca,
                                                    std::function<void(CURL*)> more = {}) const {
    return [ca, more](CURL* h) {
      curl_easy_setopt(h, CURLOPT_CAINFO, ca.c_str());
      curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
      if (more) more(h);
    };
  }
};

TEST_F(FaultServerTls, GeneratedCertificatesAreWritten) {
  EXPECT_EQ(certs_.ca_cert_file, dir_.path() / "trusted" / "ca.pem");
  EXPECT_EQ(certs_.server_cert_file, dir_.path() / "trusted" / "server.pem");
  EXPECT_EQ(certs_.server_key_file, dir_.path() / "trusted" / "server-key.pem");
  EXPECT_TRUE(std::filesystem::exists(certs_.server_key_file));
}

TEST_F(FaultServerTls, VerifiesAgainstTheGeneratedCa) {
  EXPECT_EQ(server_.tls_base_url(), "https://127.0.0.1:" + std::to_string(server_.tls_port()));
  const Reply r = fetch(server_.tls_url("/fixed"), trusting(certs_.ca_cert_file));
  EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from fetchpipe\n");
  // The SAN covers the name too, not only the address.
  const Reply by_name = fetch("https://localhost:" + std::to_string(server_.tls_port()) + "/fixed",
                              trusting(certs_.ca_cert_file));
  EXPECT_EQ(by_name.code, CURLE_OK) << curl_easy_strerror(by_name.code);
}

TEST_F(FaultServerTls, RejectsAnUntrustedCa) {
  const auto other = fetchpipe::tools::make_test_certificates(dir_.path() / "other");
  const Reply r = fetch(server_.tls_url("/fixed"), trusting(other.ca_cert_file));
  EXPECT_EQ(r.code, CURLE_PEER_FAILED_VERIFICATION) << curl_easy_strerror(r.code);
}

TEST_F(FaultServerTls, ServesTheSameEndpoints) {
  const auto ca = trusting(certs_.ca_cert_file);
  EXPECT_EQ(fetch(server_.tls_url("/flaky?key=t&fail=1"), ca).status, 503);
  EXPECT_EQ(fetch(server_.tls_url("/flaky?key=t&fail=1"), ca).status, 200);
  EXPECT_EQ(server_.count("t"), 2);
  EXPECT_EQ(fetch(server_.tls_url("/bytes?n=300000"), ca).body, pattern(0, 300000));
  EXPECT_EQ(fetch(server_.tls_url("/bytes?n=70000&chunked=1"), ca).body, pattern(0, 70000));
  EXPECT_EQ(fetch(server_.tls_url("/truncate?n=1000&sent=100"), ca).code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(fetch(server_.tls_url("/drip?n=30&interval_ms=10&chunk=10"), ca).body, pattern(0, 30));
  const Reply redirected =
      fetch(server_.tls_url("/redirect?n=2"), trusting(certs_.ca_cert_file, [](CURL* h) {
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
            }));
  EXPECT_EQ(redirected.redirects, 2);
  EXPECT_EQ(redirected.body, "hello from fetchpipe\n");
  const Reply echo = fetch(server_.tls_url("/echo"), trusting(certs_.ca_cert_file, [](CURL* h) {
                             curl_easy_setopt(h, CURLOPT_POSTFIELDS, "xyz");
                           }));
  EXPECT_EQ(echo.body.rfind("method POST\ntarget /echo\n", 0), 0u) << echo.body;
  EXPECT_EQ(echo.body.find("REMOTE_ADDR"), std::string::npos);
  EXPECT_NE(echo.body.find("\nbody-length 3\n\nxyz"), std::string::npos);
  EXPECT_EQ(fetch(server_.tls_url("/reset"), ca).status, 501);  // no socket to abort here
}

TEST_F(FaultServerTls, StopIsPromptWhileTlsRequestsHang) {
  std::atomic<int> finished{0};
  std::vector<std::thread> clients;
  for (const char* path : {"/hang", "/delay?ms=60000", "/drip?n=100&interval_ms=10000&chunk=1"}) {
    clients.emplace_back([&, url = server_.tls_url(path)] {
      fetch(url, trusting(certs_.ca_cert_file));
      ++finished;
    });
  }
  ASSERT_TRUE(eventually([&] { return server_.total_count() == 3; }));
  const auto start = Clock::now();
  server_.stop();
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  EXPECT_TRUE(eventually([&] { return finished == 3; }));
  for (auto& t : clients) t.join();
}

}  // namespace
