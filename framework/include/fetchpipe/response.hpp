// fetchpipe/response.hpp — the final response a fetch succeeded with, as a plain value.
//
// Example:
//   fetchpipe::Callbacks callbacks{.on_success = [](fetchpipe::Response r) {
//     std::cout << r.status << " from " << r.final_url << " after " << r.attempts.size()
//               << " attempt(s), " << r.body.size() << " bytes\n";
//   }};
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fetchpipe/error.hpp"
#include "fetchpipe/headers.hpp"

namespace fetchpipe {

struct Response {
  int status = 0;
  Headers headers{};
  std::string body{};      // empty when the body was streamed to on_chunk
  std::string final_url{}; // after redirects
  std::uint64_t body_bytes = 0;          // body bytes received in the final attempt
  std::vector<AttemptRecord> attempts{}; // every attempt made, the successful one last
};

}  // namespace fetchpipe
