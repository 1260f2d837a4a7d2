// Small HTTP wire helpers shared by both listeners: reason phrases, the deterministic byte
// pattern, and query-string decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fetchpipe::tools::detail {

using Params = std::vector<std::pair<std::string, std::string>>;

// "OK", "Service Unavailable", ...; "Unknown" for codes without a standard phrase.
[[nodiscard]] std::string_view reason_phrase(int status);

// Statuses whose responses never carry a body (RFC 9110 6.4.1).
[[nodiscard]] bool status_forbids_body(int status);

// Writes bytes [offset, offset + n) of the endless pattern "abc...zabc...": byte i = 'a' + i % 26.
void fill_pattern(char* out, std::uint64_t offset, std::size_t n);

// Decodes %XX and '+' (as in application/x-www-form-urlencoded query strings).
[[nodiscard]] std::string percent_decode(std::string_view text);

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}; a name without '=' gets an empty value.
[[nodiscard]] Params parse_query(std::string_view query);

// Case-insensitive ASCII comparison, for header names and tokens.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

}  // namespace fetchpipe::tools::detail
