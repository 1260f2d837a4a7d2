// fetchpipe/policies/retry_after.hpp — parsing the Retry-After response header (RFC 9110 10.2.3).
//
// Accepts delay-seconds (1*DIGIT) and an HTTP-date in any of the three forms RFC 9110 5.6.7 says a
// recipient must accept: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"). A date in the past
// means "now" (zero). Anything else — negative numbers, fractions, garbage, empty — is nullopt, and
// the caller falls back to its backoff. Huge values saturate instead of overflowing.
//
// Example:
//   auto wait = fetchpipe::parse_retry_after("120", std::chrono::system_clock::now());
//   if (wait) std::cout << std::chrono::duration_cast<std::chrono::seconds>(*wait).count();  // 120
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace fetchpipe {

// The largest wait parse_retry_after returns (about ten years): longer delay-seconds and dates
// further ahead saturate to it, so adding the result to a clock never overflows. Callers cap it
// far lower (DefaultRetryPolicy: retry_after_max).
inline constexpr std::chrono::seconds kMaxRetryAfter{std::chrono::days{3650}};

// The wait a Retry-After value asks for, measured from `now` (used for HTTP-dates and for RFC 850's
// two-digit year). Optional whitespace around the value is ignored.
[[nodiscard]] std::optional<std::chrono::nanoseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// Parses an HTTP-date (the three forms above) to a time point; nullopt when malformed (including
// impossible dates such as 31 Apr). `now` only resolves an RFC 850 two-digit year: one that would
// be more than 50 years after now's year is taken from the previous century (RFC 9110 5.6.7).
// Dates beyond what system_clock can hold saturate to its min() or max().
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace fetchpipe
