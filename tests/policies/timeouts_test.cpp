#include "fetchpipe/policies/timeouts.hpp"

#include <string_view>

#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// --- parse_duration ---------------------------------------------------------------------------

TEST(ParseDuration, ParsesEachUnit) {
  EXPECT_EQ(parse_duration("250ms"), nanoseconds{250ms});
  EXPECT_EQ(parse_duration("10s"), nanoseconds{10s});
  EXPECT_EQ(parse_duration("2m"), nanoseconds{2min});
}

TEST(ParseDuration, FractionIsExact) {
  EXPECT_EQ(parse_duration("1.5s"), nanoseconds{1500ms});
  EXPECT_EQ(parse_duration("0.1s"), nanoseconds{100ms});
  EXPECT_EQ(parse_duration("1.25m"), nanoseconds{75s});
  EXPECT_EQ(parse_duration("0.001s"), nanoseconds{1ms});
  EXPECT_EQ(parse_duration("2.5ms"), nanoseconds{2500us});
  EXPECT_EQ(parse_duration("0.000000001s"), nanoseconds{1ns});
}

TEST(ParseDuration, DigitsFinerThanANanosecondAreDropped) {
  EXPECT_EQ(parse_duration("1.0000000009s"), nanoseconds{1s});
  EXPECT_EQ(parse_duration("0.99999999999999999999999999s"), nanoseconds{999'999'999ns});
}

TEST(ParseDuration, ZeroIsValid) {
  EXPECT_EQ(parse_duration("0ms"), nanoseconds::zero());
  EXPECT_EQ(parse_duration("0s"), nanoseconds::zero());
  EXPECT_EQ(parse_duration("0.0m"), nanoseconds::zero());
}

TEST(ParseDuration, LeadingZerosAreAccepted) { EXPECT_EQ(parse_duration("007s"), nanoseconds{7s}); }

TEST(ParseDuration, LargestRepresentableValueIsAccepted) {
  EXPECT_EQ(parse_duration("9223372036.854775807s"), nanoseconds::max());
  EXPECT_EQ(parse_duration("153722867m"), nanoseconds{153722867min});
}

TEST(ParseDuration, OverflowIsRejected) {
  for (const std::string_view text : {"9223372036.854775808s", "9223372037s", "153722868m",
                                      "99999999999999999999s", "99999999999999999999999ms"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(ParseDuration, MalformedInputIsRejected) {
  for (const std::string_view text :
       {"", "10", "5h", "1e3s", "-1s", "+1s", " 1s", "1s ", "1 s", ".5s", "1.s", "1..5s", "1.5.2s",
        "s", "ms", ".s", "1S", "1MS", "1sec", "1mss", "nans", "infs", "1,5s", "0x10s", "1ms1"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << "'" << text << "'";
  }
}

// --- parse_size -------------------------------------------------------------------------------

TEST(ParseSize, ParsesPlainBytes) {
  EXPECT_EQ(parse_size("0"), 0U);
  EXPECT_EQ(parse_size("1024"), 1024U);
  EXPECT_EQ(parse_size("007"), 7U);
}

TEST(ParseSize, SuffixesArePowersOf1024) {
  EXPECT_EQ(parse_size("1k"), 1024U);
  EXPECT_EQ(parse_size("1M"), 1048576U);
  EXPECT_EQ(parse_size("1G"), 1073741824U);
  EXPECT_EQ(parse_size("16G"), 17179869184U);
  EXPECT_EQ(parse_size("0k"), 0U);
}

TEST(ParseSize, LargestValuesAreAccepted) {
  EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615U);
  EXPECT_EQ(parse_size("17179869183G"), 18446744072635809792U);  // 2^64 - 2^30
}

TEST(ParseSize, OverflowIsRejected) {
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_size("17179869184G"), std::nullopt);  // exactly 2^64
  EXPECT_EQ(parse_size("99999999999999999999999k"), std::nullopt);
}

TEST(ParseSize, MalformedInputIsRejected) {
  for (const std::string_view text : {"", "k", "M", "-1", "+1", "1.5M", "1K", "1m", "1g", "1kB", "1 k",
                                      " 1", "1 ", "1T", "1kk", "0x10", "1e3"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace fetchpipe
