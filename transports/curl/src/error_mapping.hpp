// error_mapping.hpp — which fetchpipe ErrorKind a libcurl result code means.
#pragma once

#include <curl/curl.h>

#include <string>
#include <string_view>

#include "fetchpipe/error.hpp"

namespace fetchpipe::detail {

// Maps a CURLcode other than CURLE_OK. `connected` says whether the connection (TCP, plus TLS for
// https) was established: it is the only way to tell libcurl's two timeouts apart (both are 28).
// Aborts that fetchpipe itself requested (cancel, on_body returning false, the body limit counted
// while streaming) are decided by the caller before asking here; seen here, 23 and 42 mean a
// callback failed on its own and map to internal_error.
[[nodiscard]] ErrorKind map_curl_code(CURLcode code, bool connected) noexcept;

// "curl: <error buffer>" or, when the buffer is empty, "curl: <curl_easy_strerror>".
[[nodiscard]] std::string curl_message(CURLcode code, std::string_view error_buffer);

}  // namespace fetchpipe::detail
