#include "fetchpipe/policies/retry_after.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace fetchpipe {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr std::int64_t kMaxRetryAfterSeconds = kMaxRetryAfter.count();

constexpr std::array<std::string_view, 7> kShortDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A broken-down HTTP-date before it is checked and converted.
struct CivilTime {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  bool two_digit_year = false;  // RFC 850: the century is still to be decided
};

// Reads the fixed grammar of RFC 9110 5.6.7 left to right. Every method consumes input only on
// success, and the parsers below reject the whole value at the first mismatch.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  [[nodiscard]] bool at_end() const noexcept { return pos_ == text_.size(); }

  bool literal(std::string_view s) noexcept {
    if (text_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }

  // Exactly `count` digits.
  bool digits(std::size_t count, int& out) noexcept {
    if (text_.size() - pos_ < count) return false;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = text_[pos_ + i];
      if (!is_digit(c)) return false;
      value = value * 10 + (c - '0');
    }
    pos_ += count;
    out = value;
    return true;
  }

  // One of `names`; sets `index`. Names are matched exactly: RFC 9110 says HTTP-date is
  // case-sensitive, and a sender that gets the case wrong may get other things wrong too.
  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& index) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }

  // time-of-day = hour ":" minute ":" second
  bool time_of_day(CivilTime& t) noexcept {
    return digits(2, t.hour) && literal(":") && digits(2, t.minute) && literal(":") &&
           digits(2, t.second);
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
bool parse_imf_fixdate(std::string_view text, CivilTime& t) noexcept {
  Reader r(text);
  int ignored = 0;
  return r.one_of(kShortDays, ignored) && r.literal(", ") && r.digits(2, t.day) && r.literal(" ") &&
         r.one_of(kMonths, t.month) && r.literal(" ") && r.digits(4, t.year) && r.literal(" ") &&
         r.time_of_day(t) && r.literal(" GMT") && r.at_end();
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
bool parse_rfc850(std::string_view text, CivilTime& t) noexcept {
  Reader r(text);
  int ignored = 0;
  t.two_digit_year = true;
  return r.one_of(kLongDays, ignored) && r.literal(", ") && r.digits(2, t.day) && r.literal("-") &&
         r.one_of(kMonths, t.month) && r.literal("-") && r.digits(2, t.year) && r.literal(" ") &&
         r.time_of_day(t) && r.literal(" GMT") && r.at_end();
}

// asctime: "Sun Nov  6 08:49:37 1994" (the day is two digits or a space and one digit)
bool parse_asctime(std::string_view text, CivilTime& t) noexcept {
  Reader r(text);
  int ignored = 0;
  if (!(r.one_of(kShortDays, ignored) && r.literal(" ") && r.one_of(kMonths, t.month) &&
        r.literal(" "))) {
    return false;
  }
  if (!r.digits(2, t.day) && !(r.literal(" ") && r.digits(1, t.day))) return false;
  return r.literal(" ") && r.time_of_day(t) && r.literal(" ") && r.digits(4, t.year) && r.at_end();
}

// Seconds since the Unix epoch of an HTTP-date, or nullopt. `now` resolves RFC 850's two-digit
// year. The day name is not checked against the date: RFC 9110 does not ask recipients to, and
// common clients do not either.
std::optional<std::int64_t> http_date_seconds(std::string_view value, system_clock::time_point now) {
  const std::string_view text = trim_ows(value);
  CivilTime t;
  if (!parse_imf_fixdate(text, t) && !parse_asctime(text, t)) {
    t = CivilTime{};
    if (!parse_rfc850(text, t)) return std::nullopt;
  }
  t.month += 1;  // one_of gave a 0-based index
  if (t.two_digit_year) {
    // RFC 9110 5.6.7: a two-digit year that would be more than 50 years in the future means the
    // most recent past year with those digits. Done at year granularity.
    const int now_year = static_cast<int>(
        std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)}.year());
    int year = now_year - now_year % 100 + t.year;
    if (year > now_year + 50) year -= 100;
    if (year <= now_year - 50) year += 100;
    t.year = year;
  }
  // second 60 is a leap second (RFC 9110 allows it); it is counted as the next second.
  if (t.hour > 23 || t.minute > 59 || t.second > 60) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{t.year},
                                         std::chrono::month{static_cast<unsigned>(t.month)},
                                         std::chrono::day{static_cast<unsigned>(t.day)}};
  if (!date.ok()) return std::nullopt;  // e.g. 31 Apr, 29 Feb 1900, day 00
  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  return days * 86'400 + t.hour * 3'600 + t.minute * 60 + t.second;
}

// delay-seconds = 1*DIGIT, saturated at kMaxRetryAfter.
std::optional<nanoseconds> parse_delay_seconds(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (!is_digit(c)) return std::nullopt;
    // Keep validating after saturating: "99999999999999999999x" is still garbage.
    if (value <= kMaxRetryAfterSeconds) value = value * 10 + (c - '0');
  }
  return seconds{std::min(value, kMaxRetryAfterSeconds)};
}

}  // namespace

std::optional<system_clock::time_point> parse_http_date(std::string_view value,
                                                        system_clock::time_point now) {
  const auto secs = http_date_seconds(value, now);
  if (!secs) return std::nullopt;
  // Years 1..9999 do not all fit a nanosecond system_clock (about 1678..2262); saturate.
  using tp = system_clock::time_point;
  const auto max_secs = std::chrono::floor<seconds>(tp::max().time_since_epoch()).count();
  const auto min_secs = std::chrono::ceil<seconds>(tp::min().time_since_epoch()).count();
  if (*secs > max_secs) return tp::max();
  if (*secs < min_secs) return tp::min();
  return tp{std::chrono::duration_cast<system_clock::duration>(seconds{*secs})};
}

std::optional<nanoseconds> parse_retry_after(std::string_view value, system_clock::time_point now) {
  const std::string_view text = trim_ows(value);
  if (text.empty()) return std::nullopt;
  if (is_digit(text.front())) return parse_delay_seconds(text);
  const auto date = http_date_seconds(text, now);
  if (!date) return std::nullopt;
  // Work in whole seconds first so a date in year 9999 cannot overflow nanoseconds.
  const auto now_since_epoch = now.time_since_epoch();
  const auto now_secs = std::chrono::floor<seconds>(now_since_epoch);
  const std::int64_t whole = *date - now_secs.count();
  if (whole <= 0) return nanoseconds::zero();  // in the past (or this very second): retry now
  if (whole > kMaxRetryAfterSeconds) return kMaxRetryAfter;
  return seconds{whole} - std::chrono::duration_cast<nanoseconds>(now_since_epoch - now_secs);
}

}  // namespace fetchpipe
