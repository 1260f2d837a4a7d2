// A minimal HTTP/1.1 request parser for the event listener: request line, headers, and a body
// framed by Content-Length or chunked transfer coding. It parses from a buffer that holds
// everything read so far and reports how many bytes the request used, so pipelined requests
// stay in the buffer for the next call.
#pragma once

#include <cstddef>
#include <string_view>

#include "endpoints.hpp"

namespace fetchpipe::tools::detail {

inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024 * 1024;

struct ParsedRequest {
  RequestInfo info;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only if asked
  bool head = false;       // HEAD: answer without a body
  bool http10 = false;     // HTTP/1.0: no chunked responses, keep-alive only when announced
};

struct ParseOutcome {
  enum class Kind { incomplete, complete, error };
  Kind kind = Kind::incomplete;
  std::size_t consumed = 0;     // complete: bytes this request used
  int error_status = 400;       // error: the status to answer before closing
  bool wants_continue = false;  // incomplete: headers done, body awaited, "Expect: 100-continue"
};

// Parses one request from the start of `data` into `out` (filled only when complete).
[[nodiscard]] ParseOutcome parse_request(std::string_view data, ParsedRequest& out);

}  // namespace fetchpipe::tools::detail
