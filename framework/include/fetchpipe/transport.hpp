// fetchpipe/transport.hpp — the interface every transport implements: run one HTTP exchange.
//
// The pipeline (Client) hands a transport one *exchange* at a time: one request to one URL, no
// redirects followed (the pipeline follows them itself, so the redirect rules are the same on
// every transport). The transport streams what it receives to an ExchangeObserver and reports the
// end exactly once. Retries, backoff, redirects, the body-size limit and the callback contract
// live in the pipeline; clocks that only the transport can see (connect, stall, the exchange
// deadline) are enforced by the transport.
//
// Thread rules for implementers:
//   - start() and Exchange::cancel() may be called from any thread, concurrently with each other
//     and with observer calls on other exchanges — including from inside an observer call (the
//     pipeline starts a redirect's exchange from on_complete).
//   - The observer is never called from inside start() or cancel() (call it from your own
//     thread, or defer through the Scheduler): the pipeline may hold its own lock around them.
//   - For one exchange, observer calls are sequential: on_head at most once, then on_body any
//     number of times, then on_complete exactly once. None after on_complete.
//   - After cancel(), the exchange ends promptly (milliseconds) with ErrorKind::cancelled, unless
//     it had already finished; cancel() is idempotent and never blocks on the network.
//   - on_body returning false asks the transport to stop: it ends the exchange as if cancelled.
//
// Example:
//   // A transport with no network: every exchange fails to connect. It still keeps the rules:
//   // the observer is called later, from a timer, never from inside start().
//   class Offline final : public fetchpipe::Transport {
//    public:
//     explicit Offline(std::shared_ptr<fetchpipe::Scheduler> s) : scheduler_(std::move(s)) {}
//     std::shared_ptr<fetchpipe::Exchange> start(const fetchpipe::ExchangeSpec&,
//                                                std::shared_ptr<fetchpipe::ExchangeObserver> o) override {
//       scheduler_->schedule_after(0ms, [o] {
//         o->on_complete({.error = fetchpipe::ErrorKind::connect_failure, .message = "offline"});
//       });
//       return std::make_shared<NothingToCancel>();
//     }
//     std::string_view name() const override { return "offline"; }
//    private:
//     struct NothingToCancel final : fetchpipe::Exchange {
//       void cancel() override {}  // it completes on its own at once
//     };
//     std::shared_ptr<fetchpipe::Scheduler> scheduler_;
//   };
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fetchpipe/error.hpp"
#include "fetchpipe/headers.hpp"
#include "fetchpipe/request.hpp"
#include "fetchpipe/response.hpp"
#include "fetchpipe/scheduler.hpp"

namespace fetchpipe {

// Trust settings for https. Verification is always on unless `verify_peer` is cleared.
struct TlsOptions {
  std::string ca_file;       // PEM bundle to trust instead of the system store ("" = system)
  std::string ca_path;       // directory of hashed certificates ("" = none)
  bool verify_peer = true;   // verify the certificate chain and the host name
};

// One exchange: what to send and the clocks that bound it.
struct ExchangeSpec {
  const Request* request = nullptr;  // valid until on_complete returns; URL already validated
  TimePoint deadline{};              // the exchange must end by then (body included)
  std::chrono::nanoseconds connect_timeout{std::chrono::seconds{10}};  // TCP + TLS handshake
  // Stall: no response byte (head or body) for this long at any point after the request was
  // sent (the clock starts when the request goes out on a ready connection, and every byte
  // received restarts it) ends the exchange with stall_timeout. Connect time is not counted.
  std::optional<std::chrono::nanoseconds> stall_timeout{};
  // A hint: a transport may refuse a body longer than this. The Client leaves it unset: whether
  // its limit applies depends on the status (a rejected response's body never fails the
  // attempt), so it checks Content-Length itself once it knows the response is accepted.
  std::optional<std::uint64_t> max_body_bytes{};
  const TlsOptions* tls = nullptr;              // never null when passed by the pipeline; valid
                                                // until on_complete returns, like `request`
};

// The status line and headers of the response, before the body.
struct ResponseHead {
  int status = 0;
  Headers headers{};
  std::string http_version{};  // from the status line: "1.0", "1.1", "2"; "" when unknown
};

// How an exchange ended. `error` empty means the response was received completely.
struct ExchangeResult {
  std::optional<ErrorKind> error{};  // connect_failure, dns_failure, connect_timeout, tls_failure,
                                   // connection_reset, attempt_timeout (the spec deadline fired),
                                   // stall_timeout, body_too_large, cancelled, internal_error
  std::string message{};           // the underlying library's words, kept for the user
  PhaseTimings timings{};          // what the transport knows of the exchange's phases
};

class ExchangeObserver {
 public:
  virtual ~ExchangeObserver() = default;
  virtual void on_head(ResponseHead head) = 0;
  // A piece of the body, in order. Return false to stop the exchange (it then completes as
  // cancelled).
  virtual bool on_body(std::string_view chunk) = 0;
  virtual void on_complete(ExchangeResult result) = 0;
};

// A running exchange, as the pipeline holds it.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // Aborts the exchange; see the thread rules above.
  virtual void cancel() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Starts an exchange. Never throws for network conditions (those arrive as on_complete
  // errors); may throw std::bad_alloc or for a transport already shut down, in which case the
  // observer is not called.
  virtual std::shared_ptr<Exchange> start(const ExchangeSpec& spec,
                                          std::shared_ptr<ExchangeObserver> observer) = 0;
  // "curl", "httplib", "memory", ... — shown in reports.
  [[nodiscard]] virtual std::string_view name() const = 0;
};

}  // namespace fetchpipe
