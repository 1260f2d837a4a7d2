// fetchpipe/policies/timeouts.hpp — building the client's Timeouts from user input.
//
// Timeouts themselves live in fetchpipe/client.hpp (struct Timeouts) because the pipeline
// enforces them; this header parses the text forms a tool or a config file uses.
//   DUR:  a number with a unit: "250ms", "1.5s", "2m". A unit is required.
//   SIZE: a whole number of bytes with an optional suffix k, M, G (powers of 1024).
//
// Example:
//   fetchpipe::ClientOptions options;
//   if (auto d = fetchpipe::parse_duration("1.5s")) options.timeouts.attempt = *d;  // 1500 ms
//   if (auto n = fetchpipe::parse_size("512k")) options.max_body_bytes = *n;        // 524288
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace fetchpipe {

// nullopt when malformed, negative, non-finite, or too large to represent. DUR: digits with an
// optional fraction ("1.5s"; not ".5s", "1.s", "1e3s", "+1s", " 1s"), then exactly one of ms, s, m;
// "0ms" is accepted (callers decide whether zero is allowed); the value is exact to the
// nanosecond, finer digits are dropped. SIZE: digits, then optionally exactly k, M or G.
[[nodiscard]] std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace fetchpipe
