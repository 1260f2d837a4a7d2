// Fuzzes the DUR and SIZE parsers (parse_duration, parse_size) against an independent reference
// written with 128-bit arithmetic. Invariants:
//   - a parsed duration is never negative;
//   - parse_duration accepts exactly  DIGITS [ "." DIGITS ] ( "ms" | "s" | "m" )  whose value fits
//     int64 nanoseconds, and returns that value truncated to the nanosecond;
//   - parse_size accepts exactly  DIGITS [ "k" | "M" | "G" ]  whose value fits uint64;
//   - a parsed duration printed back in nanoseconds as "<ms>.<frac>ms" parses to itself.
#include <fmt/format.h>

#include <limits>
#include <optional>

#include "fetchpipe/policies/timeouts.hpp"
#include "fuzz_check.hpp"

namespace {

// __extension__: gcc -Wpedantic (the replay build) rejects __int128 otherwise; clang accepts both.
__extension__ typedef unsigned __int128 u128;

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Digits to a value, saturating just above `limit` (enough to tell "too large").
u128 digits_value(std::string_view s, u128 limit) {
  u128 v = 0;
  for (const char c : s) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > limit) return limit + 1;
  }
  return v;
}

std::optional<long long> reference_duration(std::string_view text) {
  std::string_view number;
  u128 unit_ns = 0;
  if (text.ends_with("ms")) {
    number = text.substr(0, text.size() - 2);
    unit_ns = 1'000'000;
  } else if (text.ends_with("s")) {
    number = text.substr(0, text.size() - 1);
    unit_ns = 1'000'000'000;
  } else if (text.ends_with("m")) {
    number = text.substr(0, text.size() - 1);
    unit_ns = 60'000'000'000ULL;
  } else {
    return std::nullopt;
  }
  const auto dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  if (!all_digits(whole)) return std::nullopt;
  if (dot != std::string_view::npos && !all_digits(fraction)) return std::nullopt;
  constexpr u128 kLimit = std::numeric_limits<long long>::max();
  const u128 w = digits_value(whole, kLimit);
  if (w > kLimit) return std::nullopt;
  u128 total = w * unit_ns;
  // fraction * unit_ns / 10^digits, truncated; digits beyond the 18th are below 1 ns for every unit.
  const std::string_view f = fraction.substr(0, 18);
  if (!f.empty()) {
    u128 scale = 1;
    for (std::size_t i = 0; i < f.size(); ++i) scale *= 10;
    total += digits_value(f, ~u128{0}) * unit_ns / scale;
  }
  if (total > kLimit) return std::nullopt;
  return static_cast<long long>(total);
}

std::optional<std::uint64_t> reference_size(std::string_view text) {
  u128 multiplier = 1;
  if (!text.empty() && (text.back() == 'k' || text.back() == 'M' || text.back() == 'G')) {
    multiplier = text.back() == 'k' ? 1024 : text.back() == 'M' ? 1024 * 1024 : 1024 * 1024 * 1024;
    text.remove_suffix(1);
  }
  if (!all_digits(text)) return std::nullopt;
  constexpr u128 kLimit = std::numeric_limits<std::uint64_t>::max();
  const u128 v = digits_value(text, kLimit);
  if (v > kLimit || v * multiplier > kLimit) return std::nullopt;
  return static_cast<std::uint64_t>(v * multiplier);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fetchpipe::fuzz::as_text(data, size);
  const int shown = static_cast<int>(std::min<std::size_t>(text.size(), 200));

  const auto d = fetchpipe::parse_duration(text);
  const auto want_d = reference_duration(text);
  if (d) FUZZ_CHECK(d->count() >= 0, "negative duration from '%.*s'", shown, text.data());
  FUZZ_CHECK(d.has_value() == want_d.has_value(), "parse_duration('%.*s') %s but the grammar says %s", shown,
             text.data(), d ? "accepted" : "rejected", want_d ? "valid" : "invalid");
  if (d) {
    FUZZ_CHECK(d->count() == *want_d, "parse_duration('%.*s') = %lld ns, expected %lld", shown, text.data(),
               static_cast<long long>(d->count()), *want_d);
    const std::string printed = fmt::format("{}.{:06d}ms", d->count() / 1'000'000, d->count() % 1'000'000);
    const auto again = fetchpipe::parse_duration(printed);
    FUZZ_CHECK(again && *again == *d, "'%s' does not parse back to the same duration", printed.c_str());
  }

  const auto s = fetchpipe::parse_size(text);
  const auto want_s = reference_size(text);
  FUZZ_CHECK(s == want_s, "parse_size('%.*s') disagrees with the grammar", shown, text.data());
  return 0;
}
