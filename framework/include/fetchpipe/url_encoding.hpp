// fetchpipe/url_encoding.hpp — building query strings and form bodies without hand-escaping.
//
// Every byte that is not unreserved (RFC 3986: letters, digits, - . _ ~) is percent-encoded in
// query strings, so a value can never end its pair early ('&', '='), start a fragment ('#') or
// smuggle a control character or a space into the request line. Form bodies follow the
// application/x-www-form-urlencoded serializer of the WHATWG URL standard (space as '+', only
// letters, digits and * - . _ kept). Pairs keep their order; a name may repeat.
//
// Example:
//   std::string url = fetchpipe::with_query("http://127.0.0.1:8080/echo", {{"q", "fetch pipe"}, {"page", "2"}});
//   // "http://127.0.0.1:8080/echo?q=fetch%20pipe&page=2"
//   fetchpipe::Request post = fetchpipe::form_request("http://127.0.0.1:8080/echo", {{"name", "Ada Lovelace"}});
//   // POST, body "name=Ada+Lovelace", Content-Type: application/x-www-form-urlencoded
//   std::future<fetchpipe::Result> pending = fetchpipe::fetch_future(client, post);
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fetchpipe/request.hpp"

namespace fetchpipe {

// Names and values, in order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex).
[[nodiscard]] std::string percent_encode(std::string_view text);

// "name=value&name=value", each side percent_encode()d; "" for no pairs.
[[nodiscard]] std::string query_string(const QueryParams& params);

// `url` with the pairs appended to its query: '?' or '&' as needed, before any '#fragment'.
// The URL itself is not parsed or validated (the fetch does that).
[[nodiscard]] std::string with_query(std::string_view url, const QueryParams& params);

// An application/x-www-form-urlencoded body.
[[nodiscard]] std::string form_encode(const QueryParams& params);

// A POST of `params` as a form to `url`, with its Content-Type header.
[[nodiscard]] Request form_request(std::string url, const QueryParams& params);

}  // namespace fetchpipe
