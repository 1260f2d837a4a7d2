// Converting requests and response heads between fetchpipe's value types and cpp-httplib's.
#pragma once

#include <optional>

#include <httplib.h>

#include "fetchpipe/request.hpp"
#include "fetchpipe/transport.hpp"
#include "fetchpipe/url.hpp"

namespace fetchpipe::detail {

// Method, target, headers and body; adds Host (cpp-httplib writes an IPv6 literal without its
// brackets) and, for a body without one, Content-Type: application/octet-stream (cpp-httplib
// would say text/plain). Handlers are set by the caller.
[[nodiscard]] httplib::Request to_httplib_request(const Request& request, const Url& url);

// The declared body length, when the response will carry a body and says how long it is.
[[nodiscard]] std::optional<std::uint64_t> declared_body_length(const Request& request,
                                                                const httplib::Response& response);

}  // namespace fetchpipe::detail
