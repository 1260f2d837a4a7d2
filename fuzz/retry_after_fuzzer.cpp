// Fuzzes Retry-After parsing: parse_retry_after and parse_http_date.
//
// Input: 8 bytes choosing "now" (somewhere between 1970 and ~2200, to the nanosecond), then the
// header value. Invariants:
//   - a parsed wait lies in [0, kMaxRetryAfter];
//   - delay-seconds (digits only, after trimming spaces/tabs) always parse, to min(value, max);
//     a value starting with a digit that is not all digits never parses;
//   - a value that is not delay-seconds parses exactly when parse_http_date accepts it, and the
//     wait is then clamp(date - now, 0, kMaxRetryAfter);
//   - a parsed HTTP-date is a whole second, and printed back as an IMF-fixdate it parses to the
//     same time point.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "fetchpipe/policies/retry_after.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace std::chrono;
using fetchpipe::kMaxRetryAfter;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string imf_fixdate(system_clock::time_point t) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", kDays[weekday{day}.c_encoding()],
                     static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                     static_cast<int>(ymd.year()), hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint64_t seed = 0;
  const std::size_t seed_bytes = std::min<std::size_t>(size, sizeof seed);
  std::memcpy(&seed, data, seed_bytes);
  const std::string_view value = fetchpipe::fuzz::as_text(data + seed_bytes, size - seed_bytes);

  // 1970 .. ~2200: well inside what a nanosecond system_clock holds.
  constexpr std::uint64_t kSpanNs = 7'250'000'000ULL * 1'000'000'000ULL;
  const system_clock::time_point now{duration_cast<system_clock::duration>(nanoseconds{seed % kSpanNs})};

  const auto wait = fetchpipe::parse_retry_after(value, now);
  const auto date = fetchpipe::parse_http_date(value, now);
  if (wait) {
    FUZZ_CHECK(*wait >= nanoseconds::zero() && *wait <= kMaxRetryAfter, "wait %lld ns out of range",
               static_cast<long long>(wait->count()));
  }

  const std::string_view text = trim(value);
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits_only) {
    // The expected value, saturated at kMaxRetryAfter.
    long long secs = 0;
    for (const char c : text) {
      if (secs <= kMaxRetryAfter.count()) secs = secs * 10 + (c - '0');
    }
    const nanoseconds expected = seconds{std::min<long long>(secs, kMaxRetryAfter.count())};
    FUZZ_CHECK(wait && *wait == expected, "delay-seconds '%.*s' parsed wrong", static_cast<int>(text.size()),
               text.data());
  } else if (!text.empty() && text.front() >= '0' && text.front() <= '9') {
    FUZZ_CHECK(!wait, "'%.*s' starts with a digit but is not delay-seconds, yet parsed",
               static_cast<int>(text.size()), text.data());
  } else {
    FUZZ_CHECK(wait.has_value() == date.has_value(), "parse_retry_after and parse_http_date disagree on '%.*s'",
               static_cast<int>(text.size()), text.data());
  }

  if (date) {
    using tp = system_clock::time_point;
    if (*date == tp::max()) {
      if (wait && !digits_only) FUZZ_CHECK(*wait == kMaxRetryAfter, "a saturated future date must wait the maximum");
    } else if (*date == tp::min()) {
      if (wait && !digits_only) FUZZ_CHECK(*wait == nanoseconds::zero(), "a saturated past date must wait 0");
    } else {
      FUZZ_CHECK(floor<seconds>(*date) == *date, "an HTTP-date has no fraction of a second");
      if (!digits_only && wait) {
        // In whole seconds first: 1678 - 2262 in nanoseconds overflows int64.
        const auto ahead = floor<seconds>(*date) - floor<seconds>(now);
        const nanoseconds expected = *date <= now                ? nanoseconds::zero()
                                     : ahead > kMaxRetryAfter ? nanoseconds{kMaxRetryAfter}
                                                              : duration_cast<nanoseconds>(*date - now);
        FUZZ_CHECK(*wait == expected, "Retry-After date wait %lld != date - now %lld",
                   static_cast<long long>(wait->count()), static_cast<long long>(expected.count()));
      }
      const std::string printed = imf_fixdate(*date);
      const auto again = fetchpipe::parse_http_date(printed, now);
      FUZZ_CHECK(again && *again == *date, "'%s' does not parse back to the same time", printed.c_str());
    }
  }
  return 0;
}
