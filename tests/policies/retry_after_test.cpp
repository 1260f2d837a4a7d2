#include "fetchpipe/policies/retry_after.hpp"

#include <string_view>

#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using std::chrono::sys_days;
using std::chrono::system_clock;

// Sunday 15 March 2026, 12:00:00 UTC.
const system_clock::time_point kNow = sys_days{std::chrono::year{2026} / 3 / 15} + 12h;

// The three spellings of RFC 9110's example date, Sun 06 Nov 1994 08:49:37 GMT.
const system_clock::time_point kRfcExample = sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 37s;

// --- delay-seconds ------------------------------------------------------------------------------

TEST(RetryAfter, ParsesDelaySeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), nanoseconds{120s});
  EXPECT_EQ(parse_retry_after("1", kNow), nanoseconds{1s});
  EXPECT_EQ(parse_retry_after("007", kNow), nanoseconds{7s});
}

TEST(RetryAfter, ZeroMeansNow) { EXPECT_EQ(parse_retry_after("0", kNow), nanoseconds::zero()); }

TEST(RetryAfter, SurroundingWhitespaceIsIgnored) {
  EXPECT_EQ(parse_retry_after("  120\t", kNow), nanoseconds{120s});
  EXPECT_EQ(parse_retry_after("\t Sun, 15 Mar 2026 12:02:00 GMT  ", kNow), nanoseconds{120s});
}

TEST(RetryAfter, HugeDelaySaturatesInsteadOfOverflowing) {
  EXPECT_EQ(parse_retry_after("99999999999999999999", kNow), nanoseconds{kMaxRetryAfter});
  EXPECT_EQ(parse_retry_after("999999999999999999999999999999999999999999", kNow),
            nanoseconds{kMaxRetryAfter});
  EXPECT_EQ(parse_retry_after("315360000", kNow), nanoseconds{315360000s});  // exactly the cap
  EXPECT_EQ(parse_retry_after("315360001", kNow), nanoseconds{kMaxRetryAfter});
  EXPECT_GE(kMaxRetryAfter, std::chrono::days{365});
}

TEST(RetryAfter, GarbageIsRejected) {
  for (const std::string_view value :
       {"soon", "-5", "1.5", "", "   ", "12abc", "+5", "1 2", "0x10", "5s", "1e3", "abc12",
        "99999999999999999999x"}) {
    EXPECT_EQ(parse_retry_after(value, kNow), std::nullopt) << "'" << value << "'";
  }
}

// --- HTTP-date --------------------------------------------------------------------------------

TEST(RetryAfter, ParsesImfFixdate) {
  EXPECT_EQ(parse_retry_after("Sun, 15 Mar 2026 12:02:00 GMT", kNow), nanoseconds{120s});
}

TEST(RetryAfter, ParsesRfc850Date) {
  EXPECT_EQ(parse_retry_after("Sunday, 15-Mar-26 12:02:00 GMT", kNow), nanoseconds{120s});
}

TEST(RetryAfter, ParsesAsctimeDate) {
  EXPECT_EQ(parse_retry_after("Sun Mar 15 12:02:00 2026", kNow), nanoseconds{120s});
}

TEST(RetryAfter, PastDateMeansNow) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), nanoseconds::zero());
  EXPECT_EQ(parse_retry_after("Sun, 15 Mar 2026 11:59:59 GMT", kNow), nanoseconds::zero());
  EXPECT_EQ(parse_retry_after("Sun, 15 Mar 2026 12:00:00 GMT", kNow), nanoseconds::zero());
}

TEST(RetryAfter, DateIsMeasuredFromAFractionalNow) {
  EXPECT_EQ(parse_retry_after("Sun, 15 Mar 2026 12:02:00 GMT", kNow + 250ms), nanoseconds{119750ms});
}

TEST(RetryAfter, FarFutureDateSaturates) {
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", kNow), nanoseconds{kMaxRetryAfter});
}

TEST(HttpDate, AllThreeFormsGiveTheSameInstant) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", kNow), kRfcExample);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kNow), kRfcExample);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", kNow), kRfcExample);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994", kNow), kRfcExample);
}

TEST(HttpDate, Rfc850YearMoreThanFiftyYearsAheadIsLastCentury) {
  const auto year_of = [](std::string_view value) {
    const auto t = parse_http_date(value, kNow);
    return t ? static_cast<int>(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(*t)}.year())
             : -1;
  };
  EXPECT_EQ(year_of("Thursday, 01-Jan-26 00:00:00 GMT"), 2026);
  EXPECT_EQ(year_of("Thursday, 01-Jan-76 00:00:00 GMT"), 2076);  // exactly 50 years ahead
  EXPECT_EQ(year_of("Thursday, 01-Jan-77 00:00:00 GMT"), 1977);  // 51 years ahead: past century
  EXPECT_EQ(year_of("Thursday, 01-Jan-00 00:00:00 GMT"), 2000);
  EXPECT_EQ(year_of("Thursday, 01-Jan-99 00:00:00 GMT"), 1999);
}

TEST(HttpDate, LeapDaysAreChecked) {
  EXPECT_NE(parse_http_date("Tue, 29 Feb 2028 00:00:00 GMT", kNow), std::nullopt);
  EXPECT_EQ(parse_http_date("Mon, 29 Feb 2027 00:00:00 GMT", kNow), std::nullopt);
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 1900 00:00:00 GMT", kNow), std::nullopt);
}

TEST(HttpDate, YearsBeyondTheClockSaturate) {
  EXPECT_EQ(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT", kNow), system_clock::time_point::max());
}

TEST(HttpDate, MalformedDatesAreRejected) {
  for (const std::string_view value : {
           "Sun, 31 Apr 2026 08:49:37 GMT",   // no 31 April
           "Sun, 00 Nov 1994 08:49:37 GMT",   // day zero
           "Sun, 06 Nov 1994 24:00:00 GMT",   // hour 24
           "Sun, 06 Nov 1994 08:60:37 GMT",   // minute 60
           "Sun, 06 Nov 1994 08:49:61 GMT",   // second 61
           "Sun, 06 Nov 1994 08:49:37 UTC",   // not GMT
           "Sun, 6 Nov 1994 08:49:37 GMT",    // one-digit day in IMF-fixdate
           "Sun, 06 Nov 94 08:49:37 GMT",     // two-digit year in IMF-fixdate
           "Sun, 06 Foo 1994 08:49:37 GMT",   // no such month
           "Xyz, 06 Nov 1994 08:49:37 GMT",   // no such day
           "Sun, 06 Nov 1994 08:49:37 GMTx",  // trailing junk
           "Sun, 06 Nov 1994 08:49:37 GMT extra",
           "Sun, 06 Nov 1994 08:49:37",       // zone missing
           "Sun 06 Nov 1994 08:49:37 GMT",    // comma missing
           "Sun,  06 Nov 1994 08:49:37 GMT",  // doubled space
           "Sun, 06 nov 1994 08:49:37 GMT",   // HTTP-date is case-sensitive
           "Sun, 06-Nov-94 08:49:37 GMT",     // RFC 850 needs the long day name
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",         // asctime pads the day with a space
           "Sun Nov  6 08:49:37 94",
           "",
       }) {
    EXPECT_EQ(parse_http_date(value, kNow), std::nullopt) << "'" << value << "'";
    EXPECT_EQ(parse_retry_after(value, kNow), std::nullopt) << "'" << value << "'";
  }
}

TEST(HttpDate, LeapSecondIsAccepted) {
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", kNow),
            system_clock::time_point{sys_days{std::chrono::year{2017} / 1 / 1}});
}

}  // namespace
}  // namespace fetchpipe
