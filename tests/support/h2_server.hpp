// Test support: a small HTTP/2 server on 127.0.0.1 — over TLS with ALPN h2 when given a
// certificate, else cleartext (prior knowledge, no Upgrade) — built on libnghttp2's server session, so a test controls the frames that matter to
// the client: refused streams, GOAWAY, resets before and after the response head, stalls.
//
// One thread, poll() over the listening socket and every connection; connections and streams
// live only on that thread. The knobs and counters are atomics, safe from any thread.
//
// Paths (GET or POST; a request body is read and ignored):
//   /ok                200 "ok"
//   /bytes/N           200 with N bytes of 'x' and a Content-Length
//   /delay/MS          200 "late" after MS milliseconds
//   /stall             200 with "partial" as the first DATA frame, then nothing (stream left open)
//   /redirect          302 to /ok
//   /status/CODE       CODE with body "status"
//   /flaky/N           503 for the first N requests to this path, then 200 "ok"
//   /reset-before-head RST_STREAM(INTERNAL_ERROR) and no response: the server read the request
//   /reset-after-head  a 200 head, then RST_STREAM(INTERNAL_ERROR): the request was processed
//   anything else      404
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace fetchpipe::testing {

class H2Server {
 public:
  struct Options {
    std::filesystem::path cert_file{};  // PEM; with key_file: TLS, ALPN offers only h2
    std::filesystem::path key_file{};
  };
  // Binds 127.0.0.1 on a free port and starts the thread; throws std::runtime_error.
  H2Server();  // cleartext
  explicit H2Server(Options options);
  ~H2Server();  // stops the thread, closes every connection
  H2Server(const H2Server&) = delete;
  H2Server& operator=(const H2Server&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url(std::string_view path) const;  // http:// or https://127.0.0.1:PORT/path

  // The next n requests (any path) get RST_STREAM(REFUSED_STREAM) before any response: per RFC
  // 9113 section 8.7, the stream was not processed.
  void refuse_next(int n) { refuse_left_.store(n); }
  // The next n requests are answered by GOAWAY(NO_ERROR) whose last stream id is below theirs
  // (not processed), and the connection is then closed.
  void goaway_next(int n) { goaway_left_.store(n); }

  [[nodiscard]] int connections() const { return connections_.load(); }   // accepted
  [[nodiscard]] int requests() const { return requests_.load(); }         // complete requests read
  [[nodiscard]] int client_resets() const { return client_resets_.load(); }  // RST_STREAM received
  [[nodiscard]] int refused() const { return refused_.load(); }           // REFUSED_STREAM + GOAWAY sent
  [[nodiscard]] int responses_completed() const { return completed_.load(); }  // END_STREAM sent

  struct Impl;  // the loop's state (h2_server.cpp)

 private:
  friend struct Impl;
  void run();

  Options options_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX* when TLS
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> refuse_left_{0};
  std::atomic<int> goaway_left_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> client_resets_{0};
  std::atomic<int> refused_{0};
  std::atomic<int> completed_{0};
  std::thread thread_;
};

}  // namespace fetchpipe::testing
