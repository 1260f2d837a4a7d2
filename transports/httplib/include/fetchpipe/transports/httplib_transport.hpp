// fetchpipe/transports/httplib_transport.hpp — a Transport on cpp-httplib's blocking client.
//
// HttplibTransport runs each exchange on a bounded pool of worker threads, each with its own
// keep-alive httplib client per origin (cpp-httplib serves one request per client at a time).
// Exchanges beyond the pool wait in a FIFO queue. Pick it when you want a small, dependency-light
// transport and a few dozen concurrent requests; for thousands in flight use the curl transport,
// which costs memory, not threads.
//
// Example:
//   fetchpipe::ClientOptions options;
//   options.transport = std::make_shared<fetchpipe::HttplibTransport>(
//       fetchpipe::HttplibTransport::Options{.workers = 16});
//
// Clocks. The exchange deadline (ExchangeSpec::deadline), the stall timeout and Exchange::cancel()
// really interrupt a blocked call: a watchdog thread shuts the exchange's socket down, which wakes
// cpp-httplib in whatever it is blocked in (connect, TLS handshake, write, read). The worker then
// reports the reason the watchdog recorded, because cpp-httplib itself reports every one of these
// as the same "read error". The watchdog also runs the connect clock: resolving, the TCP connect
// and the TLS handshake together, until the first request byte is written (cpp-httplib's own
// connect and handshake timeouts, one full timeout each, are only a backstop behind it).
// The stall clock starts with the request: it fires when no response byte (head or body) has
// arrived for the stall timeout after the request was sent (bytes still unacknowledged in the
// socket's send queue mean it is still being sent). Connecting is never a stall.
//
// Thread rules.
//   - Threads created: `Options::workers` workers plus one watchdog thread, started in the
//     constructor and joined in the destructor. Nothing else.
//   - start() and Exchange::cancel() are safe from any thread, never block on the network and never
//     call the observer.
//   - Observer calls for an exchange come from the worker running it; on_complete of an exchange
//     that never reached a worker (cancelled or expired while queued) comes from the watchdog
//     thread. Keep observer calls short: a slow one holds a worker (or the watchdog).
//   - The destructor cancels everything queued or in flight (each completes as cancelled), waits
//     for those completions and joins the threads; no observer call happens after it returns.
//     Exchange handles may outlive the transport; cancel() on them is then a no-op.
//   - Construction ignores SIGPIPE process-wide (SIG_IGN): cpp-httplib's client writes with
//     flags 0, so a peer closing a keep-alive connection would otherwise kill the process.
//
// Raw bytes. cpp-httplib 0.11 percent-decodes every response header value and keeps any number of
// header lines, and Debian's build keeps its parser in libcpp-httplib.so. So this transport
// defines recv, send, SSL_read and SSL_write for the process (the dynamic linker binds
// cpp-httplib's calls to them): each calls straight through to the real function, and only a
// worker inside cpp-httplib sees the bytes — to deliver header values as the server sent them,
// bound the head (256 KiB) while it arrives, and run the connect and stall clocks. Every other
// caller (libcurl, your code) gets the plain function. Link fetchpipe_httplib statically (the
// default); if the interposition is not in effect, every response head is refused
// (connection_reset) rather than delivered decoded.
//
// HTTP/1.1 only: cpp-httplib has no HTTP/2. A request whose RequestOverrides::http_version asks
// for HTTP/2 fails at once with invalid_request (nothing is sent) rather than quietly going out
// as 1.1; use CurlTransport for HTTP/2.
//
// Limits of cpp-httplib 0.11 that remain: host name resolution (getaddrinfo) cannot be
// interrupted. A worker resolving a slow name stays busy until the resolver answers (glibc's
// timeout: 5 s per try and server by default, see resolv.conf(5)); the fetch does not wait for it
// — the Client ends it at its overall deadline, and a cancel ends it at once — but destroying
// the transport joins that worker, so it may wait for the resolver too. Redirects are never
// followed here (the pipeline does that, with its own safety rules).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <optional>
#include <string_view>

#include "fetchpipe/transport.hpp"

namespace fetchpipe {

class HttplibTransport final : public Transport {
 public:
  struct Options {
    // Worker threads, i.e. exchanges in flight at once; more exchanges queue in FIFO order.
    // Default 8; must be at least 1.
    std::size_t workers = 8;
    // Keep-alive clients each worker keeps, one per origin and TLS setting; the least recently
    // used is closed beyond this. Default 16; must be at least 1.
    std::size_t clients_per_worker = 16;
    // cpp-httplib's own per-read/-write timeouts are set to the stall timeout (or the time left
    // before the deadline) plus this margin, so they only act as a backstop and the watchdog's
    // classification wins. Default 250 ms; must not be negative.
    std::chrono::milliseconds timeout_margin{250};
    // The proxy for every exchange: "http://host[:port]" (cpp-httplib speaks only to an HTTP
    // proxy; an https:// target goes through a CONNECT tunnel). "" = none. nullopt (default) =
    // the environment, as libcurl reads it: http_proxy (lower case only), https_proxy or
    // HTTPS_PROXY, all_proxy or ALL_PROXY; read once, when the transport is made.
    std::optional<std::string> proxy{};
    // Hosts that bypass the proxy: a comma list of names (each matching itself and the names
    // below it) or addresses, or "*". nullopt (default) = no_proxy or NO_PROXY.
    std::optional<std::string> no_proxy{};
    // Ask for compressed bodies ("Accept-Encoding: gzip, deflate, br" unless the request sets
    // its own) and let cpp-httplib decode them (Debian's build has zlib and brotli; it cannot
    // decode zstd). max_body_bytes then counts decoded bytes, and decoding stops as soon as it is
    // passed; the head handed on has no Content-Length or Content-Encoding. Default off: the
    // body is delivered as sent.
    bool decompress = false;
  };

  // Starts the workers and the watchdog. Throws std::invalid_argument naming the bad option.
  HttplibTransport();
  explicit HttplibTransport(Options options);
  // Cancels every exchange queued or in flight, waits for their on_complete, joins the threads.
  ~HttplibTransport() override;

  HttplibTransport(const HttplibTransport&) = delete;
  HttplibTransport& operator=(const HttplibTransport&) = delete;

  // Queues the exchange; see Transport::start. Throws std::logic_error after shutdown began and
  // std::invalid_argument for a null spec.request.
  std::shared_ptr<Exchange> start(const ExchangeSpec& spec,
                                  std::shared_ptr<ExchangeObserver> observer) override;
  [[nodiscard]] std::string_view name() const override { return "httplib"; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetchpipe
