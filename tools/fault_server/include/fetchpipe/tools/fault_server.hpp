// fetchpipe/tools/fault_server.hpp — an in-process HTTP(S) server that misbehaves on request.
//
// FaultServer starts listening in its constructor and stops in stop() or its destructor. Each
// request chooses its own fault through the path and query string, so one server serves a whole
// test suite, a benchmark, or `fetchpipe serve`. It is standalone: it does not link the fetchpipe
// framework it is used to test.
//
//   fetchpipe::tools::FaultServer server;                       // 127.0.0.1, ephemeral port
//   fetch(server.url("/flaky?key=a&fail=2&status=503"));        // 503, 503, then 200
//   EXPECT_EQ(server.count("a"), 3);
//
//   auto certs = fetchpipe::tools::make_test_certificates(dir);
//   fetchpipe::tools::FaultServer tls_server({.tls = true,
//                                             .tls_cert_file = certs.server_cert_file,
//                                             .tls_key_file = certs.server_key_file});
//   fetch(tls_server.tls_url("/fixed"));                 // trusting certs.ca_cert_file
//
// Listeners
// ---------
// * The plain listener (`base_url()`, `port()`) serves EVERY endpoint below. It is one epoll
//   thread with a minimal HTTP/1.1 parser (keep-alive, pipelining, Content-Length and chunked
//   request bodies, Expect: 100-continue; HTTP/1.0 clients get close-delimited bodies instead of
//   chunked ones), so it holds ten thousand slow requests without a thread each, and it owns its
//   sockets, so it can reset a connection (SO_LINGER {1,0}).
// * With `tls = true`, a second listener (`tls_base_url()`, `tls_port()`) serves the same
//   endpoints over HTTPS through cpp-httplib's SSLServer on a fixed thread pool. cpp-httplib gives
//   a handler no socket, so there `/reset`, `/close-after-read` and `fault=reset` answer 501; `/hang` and `/delay` hold
//   a pool thread each (size the pool with `tls_threads`), and `/hang` is released only by stop().
//
// Endpoints (any method; every query parameter is optional; unknown paths give 404)
// ---------
//   /fixed                    200, body "hello from fetchpipe\n" (text/plain). The benchmark path.
//   /bytes?n=N&chunked=0|1    200, N bytes (default 1024), byte i = 'a' + i % 26, with
//                             Content-Length, or chunked when chunked=1. Generated as it is sent,
//                             so 50 MB costs no memory.
//   /gzip?n=N&coding=gzip|deflate|br|zstd&fill=pattern|zeros
//                             N bytes (default 1024, at most 1 GiB) of the pattern or zeros, with
//                             Content-Encoding: coding and the encoded Content-Length. gzip and
//                             deflate by zlib; br as uncompressed meta-blocks and zstd as raw
//                             blocks (RLE blocks for zeros), written without an encoder library, so
//                             br and zstd of the pattern are N bytes (at most 64 MiB). fill=zeros
//                             with gzip, deflate or zstd is a decompression bomb.
//   /status?code=C&retry_after=V&bytes=N   (bytes: a body of N pattern bytes instead of the text)
//                             status C (default 200, must be 200..599, else 400), body
//                             "status C\n"; V is copied verbatim into Retry-After.
//   /flaky?key=K&fail=N&status=S&retry_after=V&fault=F
//                             the first N (default 1) requests for key K fail, later ones give
//                             200 "ok after N failures\n". Failing means status S (default 503,
//                             Retry-After V verbatim if given), or, with fault=reset|truncate|hang,
//                             that fault as described for /reset, /truncate (n=100, sent=10)
//                             and /hang.
//                             K defaults to "" (so count("") counts key-less /flaky requests).
//   /delay?ms=M               200 "delayed M ms\n" after M ms (default 100, at most 24 h). Timed by
//                             the event loop, not a sleeping thread. With slow_ms=S and
//                             slow_permille=P, P of every 1000 requests take S ms instead: which
//                             ones is a fixed hash of the request's number among its key's (a tail
//                             that repeats exactly run after run).
//   /hang                     reads the request and never answers; the connection is closed when
//                             the client closes it or the server stops.
//   /reset                    reads the request, then aborts the connection with RST
//                             (libcurl: CURLE_RECV_ERROR 56, or GOT_NOTHING 52).
//   /truncate?n=N&sent=S      announces Content-Length N (default 1000) but sends only S bytes
//                             (default N/2, at most N), then closes (libcurl: CURLE_PARTIAL_FILE).
//   /resumable?n=N&cut=C&etag=E&cuts=C1,C2,..&change_after=K&lie=D&lie_until=K&fail_after=K
//             &drip_ms=I&chunk=C&validator=V
//                             N pattern bytes (default 1000) with Accept-Ranges: bytes and ETag
//                             "E" (default v1); the answer to a request without Range is cut
//                             after C bytes (default N/2). `Range: bytes=X-` with a matching
//                             If-Range gets a 206 of bytes X..N-1; a stale or missing If-Range,
//                             all of it (200); X >= N, 416. Options:
//                             cuts: every answer (200 or 206) that starts at byte F is cut at
//                               the first listed offset past F (replaces `cut`), so one download
//                               can be cut many times;
//                             change_after=K (with key): from the key's (K+1)-th request on, the
//                               entity changes: ETag "E.2", and every byte differs (the pattern
//                               shifted by 7);
//                             lie=D: a 206 claims and sends the part from X+D instead of X
//                               (lie_until=K, with key: only up to the key's K-th request);
//                             fail_after=K (with key): from the key's (K+1)-th request on, 503
//                               "status 503\n";
//                             drip_ms=I: every answer comes chunked, C bytes (default 1000)
//                               every I ms, and is never cut (for killing a client mid-way);
//                             validator=last-modified (a Last-Modified date instead of the
//                               ETag) or weak (ETag W/"E", never answered with a 206).
//   /drip?n=N&interval_ms=I&chunk=C
//                             200 chunked; headers at once, then C bytes (default 10) every I ms
//                             (default 100), the first after one interval, until N bytes (default
//                             100) are sent. Same byte pattern as /bytes.
//   /redirect?n=N&code=R&to=P N redirects (default 1) with status R (301|302|303|307|308, default
//                             302): Location /redirect?n=N-1&... and, from n=1, Location P
//                             (a path, default /fixed). n=0 answers like /fixed. `key` is carried
//                             along, so a chain of N with key=K counts N+1 for K.
//   /redirect-loop?code=R     redirects to itself forever (key carried along).
//   /redirect-to?url=U&code=R redirects to U verbatim (absolute URL, e.g. cross_origin_url(...)).
//   /echo                     200 text/plain describing the request, line by line:
//                                 method <METHOD>
//                                 target <raw request target, path and query>
//                                 header <Name>: <value>      (one line per header, as received)
//                                 body-length <bytes>
//                                 <empty line>
//                                 <the request body, raw, exactly body-length bytes>
//                             (The TLS listener lists headers sorted by name, as cpp-httplib
//                             keeps them.)
//   /echo/ANY?location=L&code=R
//                             any path under /echo/ answers like /echo; with `location`, it
//                             redirects (code R, default 302) to L verbatim instead. A relative L
//                             such as "?sig=ab%2Bc%3D" or "/echo/a%20b" thus lands on an echo
//                             that shows the raw target the client sent.
//   /big-header?bytes=N&lines=L
//                             200 "big header\n" whose head carries about N header bytes (default
//                             1 MiB, at most 64 MiB) in L headers X-Big-1..X-Big-L (default 1) of
//                             N/L pattern bytes each: for testing that clients bound the head.
//   /folded-header?bytes=N&width=W&fields=F
//                             200 "folded header\n" with F short fields F1..FF (value "a",
//                             default 0), then one header X-Folded whose value goes on
//                             over obs-fold continuation lines (CRLF SP + W pattern bytes, W
//                             default 1) for about N head bytes (default 256 KiB): for testing
//                             that clients unfold in linear time.
//   /close-after-read         reads the request, then closes the connection (FIN) without
//                             answering (libcurl: GOT_NOTHING 52). On a kept-alive connection
//                             this is the case where a client may silently re-send.
//   /header-drip?lines=N&bytes=B&interval_ms=I&per_tick=P&max_ms=M
//                             a head that trickles in: the status line at once, then every I ms
//                             (default 100) P lines (default 1) "X-Drip-k: <B pattern bytes>"
//                             (default 16), until N lines (default 10; 0 = no limit) or M ms
//                             (default 10000) have passed; then "Content-Length: 0", close. No
//                             lines are added while earlier ones are unsent (a client that stops
//                             reading costs nothing). For stall clocks and head bounds. Plain
//                             listener only (the TLS listener answers 501).
//
// Counters: every request carrying `key=K` (any endpoint) increments count(K), before the
// endpoint runs; every request increments total_count(). aborted(K) counts those the client
// abandoned (closed the connection) while they were delayed, hanging or dripping.
//
// Threads: all public methods may be called from any thread. stop() is idempotent and prompt
// (well under a second) even while requests hang, drip or wait: every wait is interruptible.
// The server does not raise RLIMIT_NOFILE; callers that want 10 000 connections raise it. When
// it runs out of descriptors (EMFILE) the plain listener pauses accepting for a moment instead of
// spinning, and pending connections wait in the kernel's backlog.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "fetchpipe/tools/test_certificates.hpp"

namespace fetchpipe::tools {

// Where and how a FaultServer listens. Declared outside FaultServer so that `Options{}` can be a
// default argument (a nested class's member initializers are not usable there).
struct FaultServerOptions {
  // Address both listeners bind to. Default loopback only; never a wildcard unless asked.
  std::string host = "127.0.0.1";
  // Plain listener port; 0 (default) picks an ephemeral port, read it back with port().
  std::uint16_t port = 0;
  // Also serve HTTPS on a second listener (default off). Needs both PEM files below.
  bool tls = false;
  // PEM certificate (chain) and private key for the TLS listener, e.g. from make_test_certificates.
  std::filesystem::path tls_cert_file{};
  std::filesystem::path tls_key_file{};
  // TLS listener port; 0 (default) picks an ephemeral port.
  std::uint16_t tls_port = 0;
  // Worker threads of the TLS listener: one per open connection (cpp-httplib's model). Default 32.
  std::size_t tls_threads = 32;
  // How long the constructor waits for the listeners to run before it throws. Default 5 s.
  std::chrono::milliseconds start_timeout{5000};
};

class FaultServer {
 public:
  using Options = FaultServerOptions;

  // Binds and starts the listeners; returns once they accept connections. Throws
  // std::runtime_error (naming the address or file) if binding or loading TLS material fails.
  explicit FaultServer(Options options = {});
  // Stops (see stop()).
  ~FaultServer();

  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  // Closes the listeners and every open connection and joins the server threads. Idempotent;
  // prompt even while requests hang or wait. In-flight requests see their connection close.
  void stop();

  // The plain listener: port, "http://127.0.0.1:PORT", and base_url() + path.
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] std::string base_url() const;
  [[nodiscard]] std::string url(const std::string& path_and_query) const;
  // The same listener under the name "localhost": a different origin for redirect tests.
  [[nodiscard]] std::string cross_origin_url(const std::string& path_and_query) const;

  // The TLS listener (0 / empty strings when Options::tls is false).
  [[nodiscard]] std::uint16_t tls_port() const;
  [[nodiscard]] std::string tls_base_url() const;
  [[nodiscard]] std::string tls_url(const std::string& path_and_query) const;

  // Requests seen with `key=K` since start or the last reset_counts().
  [[nodiscard]] int count(const std::string& key) const;
  // Requests with `key=K` whose client closed the connection while the plain listener delayed,
  // hung or dripped the answer (the client gave up: a cancel or timeout reached the socket).
  // Counted when the close is seen, so a test can time a client's abort. Plain listener only.
  [[nodiscard]] int aborted(const std::string& key) const;
  // Bytes the plain listener wrote to sockets for requests with `key=K` (heads and bodies): how
  // far a client let a response run before it stopped reading. Plain listener only.
  [[nodiscard]] std::uint64_t bytes_sent(const std::string& key) const;
  // Every request seen, on any listener, since start or the last reset_counts().
  [[nodiscard]] std::int64_t total_count() const;
  void reset_counts();

  // A short human-readable list of the endpoints and their URLs (for `fetchpipe serve`).
  [[nodiscard]] std::string describe_endpoints() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetchpipe::tools
