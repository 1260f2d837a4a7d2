// fetchpipe/request.hpp — the request a fetch sends, as a plain value.
//
// Example:
//   fetchpipe::Request req{.method = "POST", .url = "https://api.example/orders",
//                          .headers = {{"Content-Type", "application/json"},
//                                      {"Idempotency-Key", "order-42"}},
//                          .body = R"({"qty":1})"};
//   if (req.is_idempotent()) { /* true: it carries an Idempotency-Key, so it may be retried */ }
//   if (auto problem = fetchpipe::validate(req)) std::cerr << *problem << '\n';  // none here
#pragma once

#include <optional>
#include <string>

#include "fetchpipe/headers.hpp"

namespace fetchpipe {

struct Request {
  std::string method = "GET";  // an RFC 9110 token, sent as given
  std::string url;             // absolute http:// or https:// URL
  Headers headers{};           // sent as given; CR, LF or NUL anywhere makes the request invalid
  std::string body{};          // sent when non-empty (or when the method is POST, PUT or PATCH)

  // Idempotent per RFC 9110 section 9.2.2 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), or because the
  // request carries an `Idempotency-Key` header.
  [[nodiscard]] bool is_idempotent() const;
};

// Checks a request before anything is sent: method token, URL (http/https, host), header names
// (RFC 9110 tokens) and values (no CR, LF or NUL). Returns a message naming the field and the bad
// value, or nullopt when the request is valid.
[[nodiscard]] std::optional<std::string> validate(const Request& request);

}  // namespace fetchpipe
