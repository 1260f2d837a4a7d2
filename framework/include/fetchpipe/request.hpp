// fetchpipe/request.hpp — the request a fetch sends, as a plain value.
//
// Example:
//   fetchpipe::Request req{.method = "POST", .url = "https://api.example/orders",
//                          .headers = {{"Content-Type", "application/json"},
//                                      {"Idempotency-Key", "order-42"}},
//                          .body = R"({"qty":1})"};
//   if (req.is_idempotent()) { /* true: it carries an Idempotency-Key, so it may be retried */ }
//   if (auto problem = fetchpipe::validate(req)) std::cerr << *problem << '\n';  // none here
//   req.overrides.attempt_timeout = std::chrono::seconds{2};  // this request only
//   req.overrides.max_attempts = 1;
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fetchpipe/headers.hpp"

namespace fetchpipe {

class RetryPolicy;
class BackoffPolicy;

// The HTTP version a request asks its transport for. Only CurlTransport speaks HTTP/2;
// HttplibTransport fails a request that asks for it with invalid_request (nothing is sent).
enum class HttpVersion {
  http1_1,                // HTTP/1.1 only
  http2,                  // h2 over TLS, negotiated with ALPN, HTTP/1.1 when the server does not
                          // offer it; HTTP/1.1 on http:// (no Upgrade)
  http2_prior_knowledge,  // h2 on http:// without negotiation (the server must speak it); over
                          // TLS, as http2
};

// "1.1", "2" or "2-prior-knowledge": how messages name a version.
[[nodiscard]] constexpr const char* to_string(HttpVersion version) noexcept {
  switch (version) {
    case HttpVersion::http1_1: return "1.1";
    case HttpVersion::http2: return "2";
    case HttpVersion::http2_prior_knowledge: return "2-prior-knowledge";
  }
  return "unknown";
}

// What one request changes of its client's configuration; an empty field keeps the client's.
// Checked when the fetch starts, like the client's options (a bad value fails the fetch with kind
// invalid_request, naming the field and the value, and nothing is sent).
struct RequestOverrides {
  std::optional<std::chrono::nanoseconds> connect_timeout{};  // > 0
  std::optional<std::chrono::nanoseconds> attempt_timeout{};  // > 0
  std::optional<std::chrono::nanoseconds> stall_timeout{};    // > 0
  std::optional<std::chrono::nanoseconds> overall_timeout{};  // > 0
  // Attempts at most, the first included (>= 1). The pipeline never goes past it; a policy that
  // reads RetryContext::max_attempts (DefaultRetryPolicy does) may also go up to it.
  std::optional<int> max_attempts{};
  std::shared_ptr<RetryPolicy> retry_policy{};      // a prototype, cloned for the fetch
  std::shared_ptr<BackoffPolicy> backoff_policy{};  // a prototype, cloned for the fetch
  std::optional<std::uint64_t> max_body_bytes{};
  // Empty = the transport's default (CurlTransport::Options::http_version; httplib: 1.1).
  std::optional<HttpVersion> http_version{};
};

struct Request {
  std::string method = "GET";  // an RFC 9110 token, sent as given
  std::string url;             // absolute http:// or https:// URL
  Headers headers{};           // sent as given; CR, LF or NUL anywhere makes the request invalid
  std::string body{};          // sent when non-empty (or when the method is POST, PUT or PATCH)
  RequestOverrides overrides{};  // this request's own timeouts, attempts, policies, body limit

  // Idempotent per RFC 9110 section 9.2.2 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), or because the
  // request carries an `Idempotency-Key` header.
  [[nodiscard]] bool is_idempotent() const;
};

// Checks a request before anything is sent: method token, URL (http/https, host), header names
// (RFC 9110 tokens) and values (no CR, LF or NUL), and the overrides' ranges. Returns a message naming the field and the bad
// value, or nullopt when the request is valid.
[[nodiscard]] std::optional<std::string> validate(const Request& request);

}  // namespace fetchpipe
