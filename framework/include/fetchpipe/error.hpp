// fetchpipe/error.hpp — what went wrong with a fetch, and why the pipeline stopped.
//
// Defines the closed set of error kinds (`ErrorKind`), the reasons a fetch gives up
// (`GiveUpReason`), the record kept of every attempt (`AttemptRecord`) and the value type
// handed to `on_failure` and `on_cancel` (`Error`).
//
// Example:
//   client.fetch({.url = "http://127.0.0.1:8080/status?code=503"},
//                {.on_failure = [](fetchpipe::Error e) {
//                  std::cerr << e.message << " [" << fetchpipe::to_string(e.kind) << ", "
//                            << fetchpipe::to_string(e.reason) << "]\n";
//                }});
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fetchpipe/headers.hpp"

namespace fetchpipe {

// Every way an attempt or a fetch can fail. The comment on each says whether the default retry
// policy retries it (see policies/default_retry_policy.hpp for the exact rules).
enum class ErrorKind {
  invalid_request,     // bad URL, scheme, method or header; never sent, never retried
  dns_failure,         // host name did not resolve; retried (the request never left)
  connect_failure,     // TCP connect refused or unreachable; retried (never left)
  connect_timeout,     // connect (TCP + TLS handshake) took longer than the connect timeout; retried
  tls_failure,         // handshake or certificate verification failed; not retried
  connection_reset,    // connection reset or closed before the response was complete; retried
  attempt_timeout,     // one attempt, body included, took longer than the attempt timeout; retried
  stall_timeout,       // no response byte for the stall timeout after the request was sent; retried
  deadline_exceeded,   // the overall deadline passed; never retried
  http_status,         // the final response was not accepted (by default: not 2xx)
  body_too_large,      // the body exceeded the configured limit; not retried
  too_many_redirects,  // the redirect limit was hit on a chain or loop; not retried
  cancelled,           // the caller cancelled (handle, stop_token, client destroyed); never retried
  internal_error,      // the library or the machine failed (allocation, executor, descriptors)
  circuit_open,        // not sent: the origin's circuit breaker is open; not retried by the default
                       // policy (the pipeline may wait out the open period if it fits the deadline)
};

// Why the pipeline stopped trying. `none` only on success.
enum class GiveUpReason {
  none,                // succeeded
  not_retryable,       // the policy does not retry this outcome
  attempts_exhausted,  // the maximum number of attempts was used
  deadline,            // the overall deadline passed, or the next wait would cross it
  non_idempotent,      // retryable outcome, but the request may have been received and is not idempotent
  committed,           // bytes reached a sink that cannot rewind
  cancelled,           // the caller cancelled
  budget_exhausted,    // a retry (or hedge) was refused by the origin's retry budget; final
  circuit_open,        // the origin's circuit breaker stayed open past what the deadline allows; final
};

[[nodiscard]] std::string_view to_string(ErrorKind kind) noexcept;
[[nodiscard]] std::string_view to_string(GiveUpReason reason) noexcept;
// Parses the names printed by to_string; nullopt for anything else.
[[nodiscard]] std::optional<ErrorKind> error_kind_from_string(std::string_view name) noexcept;

// True when the request provably never reached the server: the failure happened before any byte
// of it was sent. Decides whether a non-idempotent request may be retried.
[[nodiscard]] bool request_never_left(ErrorKind kind) noexcept;

// One attempt of a fetch, as the pipeline saw it.
struct AttemptRecord {
  int number = 0;                                  // 1 for the first attempt
  std::chrono::steady_clock::time_point start{};   // when the attempt was handed to the transport
  std::chrono::nanoseconds elapsed{0};             // until its outcome was known
  std::optional<int> status{};                     // final HTTP status of the attempt, if any
  std::optional<ErrorKind> error{};                // the attempt's error, if it had one
  std::string message{};                           // the transport's or the pipeline's words on it
  std::optional<std::chrono::nanoseconds> backoff{}; // wait planned after it; nullopt after the last
  std::optional<std::uint64_t> resumed_from{};     // the byte it asked to continue from (Range)
  bool hedge = false;  // started as a hedge, while an earlier attempt of the fetch still ran
};

// The response a fetch failed on: a status the client does not accept (a 404's problem body, a
// 503's error page), or a redirect it would not follow (a 3xx's Location with redirects off).
struct ErrorResponse {
  int status = 0;
  Headers headers{};
  std::string final_url{};       // the URL that answered, after any redirects followed
  // The first ClientOptions::error_body_limit bytes of its body (64 KiB by default). Kept for
  // you to read; it never changes what the retry policy decides.
  std::string body{};
  bool body_truncated = false;   // the body was longer than that, or the connection cut it
};

// Handed to on_failure, and (with kind `cancelled`) to on_cancel.
struct Error {
  ErrorKind kind = ErrorKind::internal_error;
  std::string message{};               // human-readable, names what was attempted
  std::optional<int> status{};         // last HTTP status seen, if any
  GiveUpReason reason = GiveUpReason::not_retryable;
  std::vector<AttemptRecord> attempts{}; // every attempt made, in order
  std::uint64_t bytes_delivered = 0;   // body bytes handed to on_chunk (0 when buffering)
  // With kind http_status or too_many_redirects (and any failure of an attempt whose response
  // head had arrived): that response. Empty when no response arrived.
  std::optional<ErrorResponse> response{};
};

}  // namespace fetchpipe
