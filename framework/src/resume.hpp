// Continuing a cut response instead of starting it over (RFC 9110 sections 14 and 13.1.5).
// Private to the framework: the pipeline asks these when an accepted response arrives and when a
// retry is planned.
//
// A response may be continued when it said `Accept-Ranges: bytes` and carried a validator: a
// strong ETag, else a Last-Modified date. The retry then asks `Range: bytes=N-` with
// `If-Range: <validator>`, N being the bytes the sink already holds; the server answers 206 from N
// when the resource is unchanged, or 200 with all of it when it changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fetchpipe/headers.hpp"
#include "fetchpipe/request.hpp"

namespace fetchpipe::detail {

// The validator an accepted response offers for resuming it, or nullopt when it cannot be resumed.
[[nodiscard]] std::optional<std::string> resume_validator(const Headers& headers);

// Where a 206's Content-Range ("bytes A-B/T" or "bytes A-B/*") says its body starts, or nullopt
// when the field is missing or malformed.
[[nodiscard]] std::optional<std::uint64_t> content_range_start(const Headers& headers);

// `request` asking for the bytes from `offset` on, if the resource is still `validator`.
[[nodiscard]] Request resume_request(const Request& request, std::uint64_t offset, const std::string& validator);

}  // namespace fetchpipe::detail
