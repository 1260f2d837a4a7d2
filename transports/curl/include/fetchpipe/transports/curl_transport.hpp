// fetchpipe/transports/curl_transport.hpp — the libcurl transport: many exchanges, few threads.
//
// CurlTransport runs every exchange through libcurl's multi interface on an event-loop thread:
// one by default, Options::event_loops to use more cores.
// Use it for real HTTP(S) traffic, from a single request to ten thousand in flight: a request in
// flight costs memory (about 20 KiB with its connection), not a thread. Connections are kept alive
// and reused; easy handles are pooled.
//
// Example:
//   fetchpipe::ClientOptions options;
//   options.transport = std::make_shared<fetchpipe::CurlTransport>(
//       fetchpipe::CurlTransport::Options{.user_agent = "my-app/1.0"});
//
// Thread rules:
//   - The constructor creates exactly Options::event_loops threads (default 1), the event loops.
//     Each owns the libcurl handles of the exchanges it runs; no other thread ever touches one.
//   - start() and Exchange::cancel() are safe from any thread, including from inside observer
//     callbacks. They only queue a command and wake the loop; they never block on the network and
//     never call the observer.
//   - Every observer call (on_head, on_body, on_complete) runs on the event-loop thread that runs
//     the exchange, so keep them short: a slow callback delays every other exchange of that loop.
//     With several loops, callbacks of different exchanges may run at the same time. Do not destroy the transport from
//     inside an observer callback (the destructor joins the thread that runs it).
//   - The destructor cancels every exchange still in flight (each gets on_complete with
//     ErrorKind::cancelled), joins the loop threads, and returns only after every observer call has
//     finished. start() after destruction began throws std::runtime_error.
//
// Process-wide effects: the first CurlTransport calls curl_global_init() once and sets SIGPIPE to
// SIG_IGN. libcurl runs with CURLOPT_NOSIGNAL (required with threads), and OpenSSL can raise
// SIGPIPE when a peer closes a TLS connection; ignoring it turns that into an ordinary EPIPE error.
// A program that needs its own SIGPIPE handler must install it and block the signal on its threads.
//
// What it does with each exchange: only http and https; HTTP/1.1 unless Options::http_version or
// the request asks for HTTP/2; no redirect is followed (the pipeline follows them); TLS
// verification on unless TlsOptions says otherwise; no Accept-Encoding is sent
// unless the request sets one; curl's automatic "Expect: 100-continue" is disabled.
//
// Clocks: spec.deadline (absolute, body included) and spec.stall_timeout (gap between body bytes,
// counted from the end of the response head) are enforced by the loop itself with millisecond
// accuracy; spec.connect_timeout (TCP + TLS handshake) by libcurl. A deadline equal to
// TimePoint{} or TimePoint::max() means "none".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fetchpipe/transport.hpp"

namespace fetchpipe {

namespace detail {
class EventLoop;
class LoopChoice;
}  // namespace detail

class CurlTransport final : public Transport {
 public:
  struct Options {
    // Event-loop threads, each with its own multi handles, connections and easy-handle pool.
    // HTTP/1.1 exchanges are spread over them round-robin; HTTP/2 exchanges go to the loop their
    // origin hashes to, so streams to one origin still share one connection. The limits below
    // that are totals (max_total_connections, max_pooled_handles) are split evenly between the
    // loops, each loop enforcing its share: with round-robin an exchange may wait in one loop's
    // queue while another has room, and max_total_connections must then be 0 or at least
    // event_loops. 1 to 64. Default 1. More than the cores available only adds
    // threads; on a busy machine one loop per core the transport may use is the useful maximum.
    std::size_t event_loops = 1;
    // Most exchanges transferring at once, all hosts together. Exchanges above it wait in a queue
    // inside the transport (their deadline keeps running). 0 = unlimited. Default 0.
    std::size_t max_total_connections = 0;
    // Most connections to one host (scheme + name + port) within one shard, passed to libcurl as
    // CURLMOPT_MAX_HOST_CONNECTIONS; excess transfers wait inside libcurl. Exact while one shard
    // suffices (in-flight <= connections_per_shard), otherwise the bound is this times the number
    // of shards. 0 = unlimited. Default 0.
    std::size_t max_host_connections = 0;
    // Transfers per libcurl multi handle ("shard"). libcurl 7.88's cost per request grows with the
    // connections one multi handle holds, so the loop spreads transfers over several multi handles
    // of at most this many each, created on demand and driven by the same thread. Must be >= 1.
    // Default 64 (measured sweet spot: 32-128).
    std::size_t connections_per_shard = 64;
    // Idle keep-alive connections each shard keeps for reuse (CURLMOPT_MAXCONNECTS); the oldest is
    // closed when more would be kept. 0 = connections_per_shard. Default 0.
    std::size_t max_idle_connections = 0;
    // Idle connections older than this are not reused (CURLOPT_MAXAGE_CONN). Unit: seconds.
    // Default 118 s, libcurl's own default.
    std::chrono::seconds max_idle_connection_age{118};
    // TCP keep-alive probes on every connection (CURLOPT_TCP_KEEPALIVE). Default on.
    bool tcp_keepalive = true;
    // Idle time before the first probe, and between probes (CURLOPT_TCP_KEEPIDLE / KEEPINTVL).
    // Unit: seconds. Defaults 60 s and 60 s.
    std::chrono::seconds tcp_keepalive_idle{60};
    std::chrono::seconds tcp_keepalive_interval{60};
    // User-Agent sent when the request has none. "" = send no User-Agent. Default "fetchpipe/0.1".
    std::string user_agent = "fetchpipe/0.1";
    // Easy handles kept for reuse after their exchange ends; more are freed. Each costs a few KiB
    // plus its receive buffer (16 KiB). Default 256.
    std::size_t max_pooled_handles = 256;
    // The proxy for every exchange (CURLOPT_PROXY): "http://", "https://" or "socks5://host[:port]".
    // "" = none. nullopt (default) = libcurl reads the environment: http_proxy (lower case only),
    // https_proxy or HTTPS_PROXY, all_proxy or ALL_PROXY.
    std::optional<std::string> proxy{};
    // Hosts that bypass the proxy (CURLOPT_NOPROXY): a comma list, or "*". nullopt (default) =
    // no_proxy or NO_PROXY.
    std::optional<std::string> no_proxy{};
    // Ask for compressed bodies and decode them (CURLOPT_ACCEPT_ENCODING): "" = every coding this
    // libcurl decodes (gzip, deflate, br, zstd on Debian 12), or a list such as "gzip, br".
    // max_body_bytes then counts decoded bytes, and decoding stops as soon as it is passed; the
    // head handed on has no Content-Length or Content-Encoding. nullopt (default) = off: the
    // body is delivered as sent, and no Accept-Encoding is added.
    std::optional<std::string> accept_encoding{};
    // The HTTP version of a request that does not choose one (RequestOverrides::http_version).
    // Default http1_1. With HTTP/2 (http2 on https://, http2_prior_knowledge on http://) the
    // exchanges to one origin are multiplexed over one connection (CURLPIPE_MULTIPLEX): they run
    // on one multi handle of their own, outside the connections_per_shard shards, and wait for the
    // first connection's protocol to be known (CURLOPT_PIPEWAIT) instead of each opening one.
    // With libcurl before 8.0 (Debian 12 has 7.88), prior knowledge cannot reuse a connection
    // (curl issue 10634): each such exchange then gets a connection of its own, no
    // multiplexing; h2 over TLS is not affected.
    // A stream the server refused (REFUSED_STREAM on every try libcurl made, or above a GOAWAY's
    // last stream id) ends as connect_failure: never processed, so even a POST may be retried.
    // A request that is not idempotent still gets a fresh connection of its own, as on 1.1:
    // libcurl re-sends a request whose reused connection died before any response byte, and
    // such a request may have been processed.
    HttpVersion http_version = HttpVersion::http1_1;
    // Streams at most on one HTTP/2 connection (CURLMOPT_MAX_CONCURRENT_STREAMS; a server's
    // smaller SETTINGS_MAX_CONCURRENT_STREAMS wins). Exchanges beyond it open another connection
    // to the origin, or wait for a stream when max_host_connections is reached. 1 to 2^31-1.
    // Default 100, libcurl's own.
    std::size_t max_streams_per_connection = 100;
  };

  // Counters, for tests and benchmarks, all loops together. Read from any thread; values may lag by one loop pass.
  struct Stats {
    std::uint64_t exchanges_started = 0;    // start() calls accepted
    std::uint64_t exchanges_completed = 0;  // on_complete calls made (counted just before each)
    std::uint64_t connections_opened = 0;   // new TCP connections (sum of CURLINFO_NUM_CONNECTS)
    std::uint64_t shards = 0;               // multi handles created so far (the HTTP/2 ones included)
  };

  // Throws std::invalid_argument when an option is invalid (the message names it), or
  // std::runtime_error when the loop cannot be set up (epoll, eventfd, libcurl init).
  CurlTransport();
  explicit CurlTransport(Options options);
  ~CurlTransport() override;

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec,
                                  std::shared_ptr<ExchangeObserver> observer) override;
  [[nodiscard]] std::string_view name() const override { return "curl"; }

  [[nodiscard]] Stats stats() const;

 private:
  std::vector<std::unique_ptr<detail::EventLoop>> loops_;
  std::unique_ptr<detail::LoopChoice> choice_;
};

}  // namespace fetchpipe
