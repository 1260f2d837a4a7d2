#include "fetchpipe/policies/exponential_backoff.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using ::testing::HasSubstr;

constexpr Jitter kAllJitters[] = {Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated};

ExponentialBackoff::Options seeded(Jitter jitter, std::uint64_t seed = 42) {
  return {.initial = 100ms, .multiplier = 2.0, .max = 10s, .jitter = jitter, .seed = seed};
}

std::vector<nanoseconds> draw(BackoffPolicy& backoff, int count) {
  std::vector<nanoseconds> out;
  for (int retry = 1; retry <= count; ++retry) out.push_back(backoff.next_delay(retry));
  return out;
}

std::string construction_error(const ExponentialBackoff::Options& options) {
  try {
    ExponentialBackoff backoff(options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

// --- base delay -----------------------------------------------------------------------------

TEST(ExponentialBackoff, NoJitterDoublesUpToMax) {
  ExponentialBackoff backoff({.initial = 100ms, .multiplier = 2.0, .max = 1s, .jitter = Jitter::none});
  const std::vector<nanoseconds> expected{100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s};
  EXPECT_EQ(draw(backoff, 7), expected);
}

TEST(ExponentialBackoff, BaseDelayFollowsFractionalMultiplier) {
  ExponentialBackoff backoff({.initial = 100ms, .multiplier = 1.5, .max = 10s, .jitter = Jitter::none});
  EXPECT_EQ(backoff.base_delay(1), 100ms);
  EXPECT_EQ(backoff.base_delay(2), 150ms);
  EXPECT_EQ(backoff.base_delay(3), 225ms);
}

TEST(ExponentialBackoff, NonPositiveRetryCountsAsFirst) {
  ExponentialBackoff backoff(seeded(Jitter::none));
  EXPECT_EQ(backoff.base_delay(0), 100ms);
  EXPECT_EQ(backoff.base_delay(-7), 100ms);
  EXPECT_EQ(backoff.base_delay(INT_MIN), 100ms);
  EXPECT_EQ(backoff.next_delay(0), 100ms);
}

TEST(ExponentialBackoff, BaseDelaySaturatesAtHugeRetryNumbers) {
  ExponentialBackoff backoff(seeded(Jitter::none));
  EXPECT_EQ(backoff.base_delay(64), 10s);
  EXPECT_EQ(backoff.base_delay(10'000), 10s);
  EXPECT_EQ(backoff.base_delay(INT_MAX), 10s);
}

TEST(ExponentialBackoff, NoOverflowWithLargestMaxAndMultiplier) {
  ExponentialBackoff backoff({.initial = 1ns,
                              .multiplier = std::numeric_limits<double>::max(),
                              .max = nanoseconds::max(),
                              .jitter = Jitter::none});
  EXPECT_EQ(backoff.base_delay(1), 1ns);
  EXPECT_EQ(backoff.base_delay(2), nanoseconds::max());
  EXPECT_EQ(backoff.base_delay(INT_MAX), nanoseconds::max());
}

TEST(ExponentialBackoff, EveryJitterStaysWithinMaxAtHugeRetryNumbers) {
  for (const Jitter jitter : kAllJitters) {
    ExponentialBackoff backoff(seeded(jitter));
    for (const int retry : {10'000, INT_MAX, INT_MAX, 10'000}) {
      const nanoseconds d = backoff.next_delay(retry);
      EXPECT_GE(d, 0ns) << to_string(jitter);
      EXPECT_LE(d, 10s) << to_string(jitter);
    }
  }
}

TEST(ExponentialBackoff, MultiplierOneKeepsInitial) {
  ExponentialBackoff backoff({.initial = 300ms, .multiplier = 1.0, .max = 10s, .jitter = Jitter::none});
  for (const int retry : {1, 2, 50, 10'000, INT_MAX}) EXPECT_EQ(backoff.base_delay(retry), 300ms);
}

TEST(ExponentialBackoff, InitialZeroAlwaysWaitsZero) {
  for (const Jitter jitter : kAllJitters) {
    ExponentialBackoff backoff({.initial = 0ms, .multiplier = 2.0, .max = 10s, .jitter = jitter, .seed = 1});
    for (const int retry : {1, 2, 3, 100, INT_MAX}) {
      EXPECT_EQ(backoff.next_delay(retry), 0ns) << to_string(jitter) << " retry " << retry;
    }
  }
}

TEST(ExponentialBackoff, MaxEqualToInitialIsConstant) {
  ExponentialBackoff backoff({.initial = 1s, .multiplier = 3.0, .max = 1s, .jitter = Jitter::decorrelated, .seed = 5});
  for (const auto d : draw(backoff, 20)) EXPECT_EQ(d, 1s);
}

// --- jitter bounds -------------------------------------------------------------------------

TEST(ExponentialBackoff, FullJitterStaysWithinBase) {
  ExponentialBackoff prototype(seeded(Jitter::full));
  for (int sample = 0; sample < 500; ++sample) {
    auto backoff = prototype.clone();
    for (int retry = 1; retry <= 10; ++retry) {
      const nanoseconds d = backoff->next_delay(retry);
      EXPECT_GE(d, 0ns);
      EXPECT_LE(d, prototype.base_delay(retry));
    }
  }
}

TEST(ExponentialBackoff, FullJitterSpreadsOverTheWholeRange) {
  ExponentialBackoff backoff(seeded(Jitter::full));
  nanoseconds lowest = nanoseconds::max();
  nanoseconds highest = 0ns;
  for (int i = 0; i < 2000; ++i) {
    const nanoseconds d = backoff.next_delay(8);  // base 10s (capped)
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_LT(lowest, 500ms);
  EXPECT_GT(highest, 9500ms);
}

// The base delays are read from a table computed once per prototype (retries 1..32) and computed
// past it: both must be exactly the formula, for growth that saturates early, late and never.
TEST(ExponentialBackoff, BaseDelayIsTheFormulaInsideAndBeyondItsTable) {
  struct Case {
    nanoseconds initial;
    double multiplier;
    nanoseconds max;
  };
  for (const Case c : {Case{100ms, 2.0, 10s}, Case{1ns, 1.01, 1s}, Case{3ms, 1.5, std::chrono::hours{1000}},
                       Case{100ms, 1.0, 10s}, Case{1ms, 10.0, nanoseconds::max()}}) {
    ExponentialBackoff backoff({.initial = c.initial, .multiplier = c.multiplier, .max = c.max, .jitter = Jitter::none});
    auto copy = ExponentialBackoff(backoff).clone();
    for (int retry = -1; retry <= 200; ++retry) {
      const long double exact = static_cast<long double>(c.initial.count()) *
                                std::pow(static_cast<long double>(c.multiplier), retry <= 1 ? 0.0L : retry - 1.0L);
      const nanoseconds want = exact < static_cast<long double>(c.max.count())
                                   ? nanoseconds{static_cast<nanoseconds::rep>(exact)}
                                   : c.max;
      ASSERT_EQ(backoff.base_delay(retry), want) << c.multiplier << " retry " << retry;
      ASSERT_EQ(copy->next_delay(retry), want) << "a clone of a copy, retry " << retry;
    }
  }
}

// The jitter's distribution, from many draws of one seeded stream: full jitter is uniform over
// [0, base] (mean base/2, each tenth of the range holding a tenth of the draws), equal jitter
// uniform over [base/2, base].
TEST(ExponentialBackoff, JitterIsUniformOverItsRange) {
  constexpr int kDraws = 200000;
  for (const Jitter jitter : {Jitter::full, Jitter::equal}) {
    ExponentialBackoff backoff(seeded(jitter, 5));
    const long double base = static_cast<long double>(backoff.base_delay(8).count());  // 10 s, capped
    const long double low = jitter == Jitter::full ? 0.0L : base / 2;
    std::vector<int> bins(10, 0);
    long double sum = 0;
    for (int i = 0; i < kDraws; ++i) {
      const auto d = static_cast<long double>(backoff.next_delay(8).count());
      sum += d;
      const auto bin = static_cast<std::size_t>((d - low) / (base - low) * 10);
      ++bins[std::min<std::size_t>(bin, 9)];
    }
    EXPECT_NEAR(static_cast<double>(sum / kDraws / base), static_cast<double>((low + base) / 2 / base), 0.005)
        << to_string(jitter);
    double chi2 = 0;
    for (const int n : bins) chi2 += (n - kDraws / 10.0) * (n - kDraws / 10.0) / (kDraws / 10.0);
    EXPECT_LT(chi2, 27.9) << to_string(jitter) << ": chi-square of 10 bins (p = 0.001 at 9 degrees)";
  }
}

TEST(ExponentialBackoff, EqualJitterStaysInUpperHalfOfBase) {
  ExponentialBackoff backoff(seeded(Jitter::equal));
  nanoseconds lowest = nanoseconds::max();
  nanoseconds highest = 0ns;
  for (int i = 0; i < 2000; ++i) {
    const int retry = 1 + i % 9;
    const nanoseconds base = backoff.base_delay(retry);
    const nanoseconds d = backoff.next_delay(retry);
    EXPECT_GE(d, base / 2);
    EXPECT_LE(d, base);
    if (retry == 9) {
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
  }
  EXPECT_LT(lowest, 5500ms);
  EXPECT_GT(highest, 9500ms);
}

TEST(ExponentialBackoff, DecorrelatedStaysWithinInitialAndMax) {
  ExponentialBackoff prototype(seeded(Jitter::decorrelated));
  for (int sample = 0; sample < 200; ++sample) {
    auto backoff = prototype.clone();
    for (int retry = 1; retry <= 40; ++retry) {
      const nanoseconds d = backoff->next_delay(retry);
      EXPECT_GE(d, 100ms);
      EXPECT_LE(d, 10s);
    }
  }
}

TEST(ExponentialBackoff, DecorrelatedGrowsFromAtMostThreeTimesPrevious) {
  ExponentialBackoff prototype(seeded(Jitter::decorrelated));
  for (int sample = 0; sample < 200; ++sample) {
    auto backoff = prototype.clone();
    nanoseconds previous = 100ms;  // the sequence starts from `initial`
    for (int retry = 1; retry <= 20; ++retry) {
      const nanoseconds d = backoff->next_delay(retry);
      EXPECT_LE(d, std::min<nanoseconds>(3 * previous, 10s));
      previous = d;
    }
  }
}

TEST(ExponentialBackoff, DecorrelatedRestartsAtRetryOne) {
  ExponentialBackoff backoff(seeded(Jitter::decorrelated));
  for (int retry = 1; retry <= 30; ++retry) (void)backoff.next_delay(retry);  // memory near max
  EXPECT_LE(backoff.next_delay(1), 300ms);
}

// --- determinism and clones -------------------------------------------------------------------

TEST(ExponentialBackoff, SameSeedGivesSameSequence) {
  for (const Jitter jitter : kAllJitters) {
    ExponentialBackoff a(seeded(jitter, 7));
    ExponentialBackoff b(seeded(jitter, 7));
    EXPECT_EQ(draw(a, 30), draw(b, 30)) << to_string(jitter);
  }
}

TEST(ExponentialBackoff, DifferentSeedsGiveDifferentSequences) {
  for (const Jitter jitter : {Jitter::full, Jitter::equal, Jitter::decorrelated}) {
    ExponentialBackoff a(seeded(jitter, 7));
    ExponentialBackoff b(seeded(jitter, 8));
    EXPECT_NE(draw(a, 30), draw(b, 30)) << to_string(jitter);
  }
}

TEST(ExponentialBackoff, NthCloneOfSeededPrototypeIsReproducible) {
  for (const Jitter jitter : kAllJitters) {
    ExponentialBackoff first(seeded(jitter, 99));
    ExponentialBackoff second(seeded(jitter, 99));
    (void)first.next_delay(1);  // the prototype's own draws do not shift its clones' streams
    for (int n = 0; n < 5; ++n) {
      auto a = first.clone();
      auto b = second.clone();
      EXPECT_EQ(draw(*a, 25), draw(*b, 25)) << to_string(jitter) << " clone " << n;
    }
  }
}

TEST(ExponentialBackoff, DifferentClonesDrawDifferentSequences) {
  for (const Jitter jitter : {Jitter::full, Jitter::equal, Jitter::decorrelated}) {
    ExponentialBackoff prototype(seeded(jitter, 99));
    auto a = prototype.clone();
    auto b = prototype.clone();
    const auto seq_a = draw(*a, 25);
    EXPECT_NE(seq_a, draw(*b, 25)) << to_string(jitter);
    EXPECT_NE(seq_a, draw(prototype, 25)) << to_string(jitter);
  }
}

TEST(ExponentialBackoff, UnseededPrototypesDiffer) {
  ExponentialBackoff a({.jitter = Jitter::full});
  ExponentialBackoff b({.jitter = Jitter::full});
  EXPECT_NE(draw(a, 30), draw(b, 30));
}

TEST(ExponentialBackoff, CloneStartsFreshAndKeepsOptions) {
  ExponentialBackoff prototype(seeded(Jitter::decorrelated));
  for (int retry = 2; retry <= 30; ++retry) (void)prototype.next_delay(retry);  // no reset: retry > 1
  auto cloned = prototype.clone();
  auto* typed = dynamic_cast<ExponentialBackoff*>(cloned.get());
  ASSERT_NE(typed, nullptr);
  EXPECT_EQ(typed->options().initial, 100ms);
  EXPECT_EQ(typed->options().max, 10s);
  EXPECT_EQ(typed->options().jitter, Jitter::decorrelated);
  // Fresh decorrelated memory: even called with retry 2 (no explicit reset) it draws from
  // [initial, 3 * initial].
  EXPECT_LE(cloned->next_delay(2), 300ms);
}

TEST(ExponentialBackoff, CopySharesCloneNumbering) {
  ExponentialBackoff original(seeded(Jitter::full, 3));
  ExponentialBackoff copy(original);
  ExponentialBackoff reference(seeded(Jitter::full, 3));
  auto ref0 = reference.clone();
  auto ref1 = reference.clone();
  auto from_original = original.clone();  // clone 0
  auto from_copy = copy.clone();          // clone 1, not clone 0 again
  EXPECT_EQ(draw(*from_original, 10), draw(*ref0, 10));
  EXPECT_EQ(draw(*from_copy, 10), draw(*ref1, 10));
}

TEST(ExponentialBackoff, CopyContinuesFromTheSameState) {
  ExponentialBackoff original(seeded(Jitter::full));
  (void)original.next_delay(1);
  ExponentialBackoff copy(original);
  EXPECT_EQ(draw(original, 10), draw(copy, 10));
}

// --- validation ------------------------------------------------------------------------------

TEST(ExponentialBackoff, NegativeInitialIsRejected) {
  EXPECT_THAT(construction_error({.initial = -1ms}),
              HasSubstr("ExponentialBackoff: initial must be >= 0, got -1ms"));
}

TEST(ExponentialBackoff, MultiplierBelowOneIsRejected) {
  EXPECT_THAT(construction_error({.multiplier = 0.5}),
              HasSubstr("ExponentialBackoff: multiplier must be >= 1, got 0.5"));
  EXPECT_THAT(construction_error({.multiplier = -2.0}), HasSubstr("multiplier must be >= 1, got -2"));
}

TEST(ExponentialBackoff, NonFiniteMultiplierIsRejected) {
  EXPECT_THAT(construction_error({.multiplier = std::numeric_limits<double>::infinity()}),
              HasSubstr("multiplier must be finite, got inf"));
  EXPECT_THAT(construction_error({.multiplier = std::numeric_limits<double>::quiet_NaN()}),
              HasSubstr("multiplier must be finite, got nan"));
}

TEST(ExponentialBackoff, MaxBelowInitialIsRejected) {
  EXPECT_THAT(construction_error({.initial = 2s, .max = 500ms}),
              HasSubstr("ExponentialBackoff: max must be >= initial (2s), got 500ms"));
}

TEST(ExponentialBackoff, UnknownJitterValueIsRejected) {
  EXPECT_THAT(construction_error({.jitter = static_cast<Jitter>(17)}), HasSubstr("jitter"));
}

TEST(ExponentialBackoff, BoundaryOptionsAreAccepted) {
  EXPECT_EQ(construction_error({.initial = 0ms, .multiplier = 1.0, .max = 0ms}), "<no exception>");
  EXPECT_EQ(construction_error({.initial = 1s, .multiplier = 1.0, .max = 1s}), "<no exception>");
  EXPECT_EQ(construction_error({}), "<no exception>");
}

TEST(ExponentialBackoff, DefaultsMatchTheHeader) {
  ExponentialBackoff backoff;
  EXPECT_EQ(backoff.options().initial, 100ms);
  EXPECT_EQ(backoff.options().multiplier, 2.0);
  EXPECT_EQ(backoff.options().max, 10s);
  EXPECT_EQ(backoff.options().jitter, Jitter::full);
  EXPECT_FALSE(backoff.options().seed.has_value());
}

TEST(Jitter, NamesRoundTrip) {
  for (const Jitter jitter : kAllJitters) EXPECT_EQ(jitter_from_string(to_string(jitter)), jitter);
  EXPECT_EQ(to_string(Jitter::decorrelated), "decorrelated");
}

TEST(Jitter, UnknownNamesAreRejected) {
  EXPECT_EQ(jitter_from_string(""), std::nullopt);
  EXPECT_EQ(jitter_from_string("FULL"), std::nullopt);
  EXPECT_EQ(jitter_from_string("full "), std::nullopt);
  EXPECT_EQ(jitter_from_string("random"), std::nullopt);
}

}  // namespace
}  // namespace fetchpipe
