#include "fetchpipe/policies/constant_backoff.hpp"

#include <climits>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(ConstantBackoff, ReturnsTheSameDelayForEveryRetry) {
  ConstantBackoff backoff(250ms);
  for (int retry : {1, 2, 3, 100, INT_MAX, 0, -1, INT_MIN}) {
    EXPECT_EQ(backoff.next_delay(retry), 250ms) << "retry " << retry;
  }
}

TEST(ConstantBackoff, ZeroDelayIsAllowed) {
  ConstantBackoff backoff(0ms);
  EXPECT_EQ(backoff.next_delay(1), 0ms);
}

TEST(ConstantBackoff, NegativeDelayIsRejectedNamingFieldAndValue) {
  try {
    ConstantBackoff backoff(-1ms);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("delay must be >= 0, got -1ms"));
  }
}

TEST(ConstantBackoff, CloneWaitsTheSame) {
  ConstantBackoff backoff(3s);
  auto copy = backoff.clone();
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->next_delay(7), 3s);
}

}  // namespace
}  // namespace fetchpipe
