// validate() for a request whose URL the caller has already parsed: the pipeline parses it once
// for both the check and the origin.
#pragma once

#include <optional>
#include <string>

#include "fetchpipe/request.hpp"
#include "fetchpipe/url.hpp"

namespace fetchpipe::detail {

// The same checks, in the same order and with the same messages, as fetchpipe::validate(request);
// `url` must be Url::parse(request.url).
[[nodiscard]] std::optional<std::string> validate(const Request& request, const Url::ParseResult& url);

}  // namespace fetchpipe::detail
