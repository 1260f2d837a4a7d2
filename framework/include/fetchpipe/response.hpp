// fetchpipe/response.hpp — the final response a fetch succeeded with, as a plain value.
//
// Example:
//   fetchpipe::Callbacks callbacks{.on_success = [](fetchpipe::Response r) {
//     std::cout << r.status << " from " << r.final_url << " after " << r.attempts.size()
//               << " attempt(s), " << r.body.size() << " bytes\n";
//   }};
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fetchpipe/error.hpp"
#include "fetchpipe/headers.hpp"

namespace fetchpipe {

// When each phase of an exchange ended, measured from the exchange's start (one origin for all,
// as curl reports them: `connected` includes the name lookup). Empty when the transport cannot
// tell, or the phase did not happen (no name lookup for an address or a reused connection, no TLS
// on http://). CurlTransport reports all five; HttplibTransport only first_byte and total (the
// lookup, connect and handshake happen inside cpp-httplib).
struct PhaseTimings {
  std::optional<std::chrono::nanoseconds> name_resolved{};
  std::optional<std::chrono::nanoseconds> connected{};
  std::optional<std::chrono::nanoseconds> tls_done{};
  std::optional<std::chrono::nanoseconds> first_byte{};  // the first byte of the response head
  std::optional<std::chrono::nanoseconds> total{};
};

struct Response {
  int status = 0;
  Headers headers{};
  std::string body{};      // empty when the body was streamed to on_chunk
  std::string final_url{}; // after redirects
  std::uint64_t body_bytes = 0;          // body bytes received in the final attempt
  std::string http_version{};            // "1.0", "1.1" or "2" ("" when the transport cannot tell)
  PhaseTimings timings{};                // of the final attempt's last exchange
  std::vector<AttemptRecord> attempts{}; // every attempt made, the successful one last
};

}  // namespace fetchpipe
