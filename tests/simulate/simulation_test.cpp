// Runs of the real Client against the simulated server, in virtual time: determinism for a seed,
// and what retries do in each scenario.
#include <gtest/gtest.h>

#include <fetchpipe/simulate/simulation.hpp>

namespace fetchpipe::simulate {
namespace {

using namespace std::chrono_literals;

SimulationSettings small(Scenario scenario, std::uint64_t seed = 1) {
  return SimulationSettings{.scenario = scenario, .clients = 4, .rate = 400, .duration = 10s, .seed = seed};
}

Configuration named(const std::string& name) {
  for (auto& c : standard_configurations({}, {}, TokenRetryBudget::Options{}, {.consecutive_failures = 5})) {
    if (c.name == name) return c;
  }
  throw std::logic_error("no configuration " + name);
}

bool same_series(const ConfigResult& a, const ConfigResult& b) {
  if (a.series.size() != b.series.size()) return false;
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    const auto& x = a.series[i];
    const auto& y = b.series[i];
    if (x.offered != y.offered || x.attempts != y.attempts || x.successes != y.successes ||
        x.failures != y.failures || x.in_flight != y.in_flight) {
      return false;
    }
  }
  return true;
}

TEST(Simulation, TheSameSeedGivesTheSameRunAndAnotherSeedAnotherOne) {
  const auto config = named("retries");
  const auto a = run_configuration(small(Scenario::overload, 3), config);
  const auto b = run_configuration(small(Scenario::overload, 3), config);
  EXPECT_TRUE(same_series(a, b));
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.p999_ms, b.p999_ms);
  const auto c = run_configuration(small(Scenario::overload, 4), config);
  EXPECT_FALSE(same_series(a, c));
}

TEST(Simulation, TheConfigurationsAreTheRowsOfTheComparison) {
  const auto with_budget = standard_configurations({}, {}, TokenRetryBudget::Options{}, {});
  ASSERT_EQ(with_budget.size(), 4u);
  EXPECT_EQ(with_budget[0].name, "no retries");
  EXPECT_EQ(with_budget[0].retry.max_attempts, 1);
  EXPECT_EQ(with_budget[1].name, "retries");
  EXPECT_FALSE(with_budget[1].budget);
  EXPECT_EQ(with_budget[2].name, "retries + budget");
  EXPECT_TRUE(with_budget[2].budget);
  EXPECT_EQ(with_budget[3].name, "retries + budget + breaker");
  EXPECT_TRUE(with_budget[3].breaker);
  const auto without = standard_configurations({}, {}, std::nullopt, {});
  ASSERT_EQ(without.size(), 3u);
  EXPECT_EQ(without[2].name, "retries + breaker");
  EXPECT_FALSE(without[2].budget);
}

TEST(Simulation, OutageWithoutRetriesSendsEachFetchOnceAndFailsHalf) {
  const auto r = run_configuration(small(Scenario::outage), named("no retries"));
  EXPECT_EQ(r.attempts, r.offered);
  ASSERT_TRUE(r.fault_amplification);
  EXPECT_DOUBLE_EQ(*r.fault_amplification, 1.0);
  EXPECT_NEAR(r.success_pct, 50.0, 5.0);
  ASSERT_TRUE(r.recovery_ms);
  EXPECT_LE(*r.recovery_ms, 100.0);  // the first slice after the outage is all successes
}

TEST(Simulation, OutageWithRetriesAndNoBudgetSendsAboutFourAttemptsPerFetch) {
  const auto r = run_configuration(small(Scenario::outage), named("retries"));
  ASSERT_TRUE(r.fault_amplification);
  EXPECT_GT(*r.fault_amplification, 3.5);
  EXPECT_LE(*r.fault_amplification, 4.1);
}

TEST(Simulation, OverloadWithRetriesAndNoBudgetStaysDownAfterTheSpike) {
  auto settings = small(Scenario::overload);
  settings.duration = 20s;
  const auto r = run_configuration(settings, named("retries"));
  EXPECT_FALSE(r.recovery_ms) << "retries keep the queue full of work nobody waits for";
  // The last second of the run: the server is busy with retries and work nobody waits for; the
  // clients get well under half of what they ask.
  std::uint64_t offered = 0, successes = 0;
  for (std::size_t i = r.series.size() - 10; i < r.series.size(); ++i) {
    offered += r.series[i].offered;
    successes += r.series[i].successes;
  }
  EXPECT_LT(successes * 2, offered);
}

// The default budget (20 % of the requests of the last 10 s, the floor of 10 per second within
// it), here 4 clients at 100 fetches/s each in a 5 s outage, where the window's first seconds
// (fewer requests recorded, the floor then larger than a slot's share) weigh more than in the
// minute-long default run.
TEST(Simulation, OutageWithTheDefaultBudgetAddsAboutTheBudgetsShare) {
  const auto r = run_configuration(small(Scenario::outage), named("retries + budget"));
  ASSERT_TRUE(r.fault_amplification);
  EXPECT_GT(*r.fault_amplification, 1.1);
  EXPECT_LE(*r.fault_amplification, 1.5);
  ASSERT_TRUE(r.recovery_ms);
  EXPECT_LE(*r.recovery_ms, 2000.0);
}

TEST(Simulation, OutageWithABreakerFailsFastProbesOnceAndClosesAfterwards) {
  auto config = named("retries + budget + breaker");
  config.breaker->open_for = std::chrono::seconds{1};
  const auto r = run_configuration(small(Scenario::outage), config);
  ASSERT_TRUE(r.breaker);
  const auto& b = *r.breaker;
  EXPECT_GE(b.openings, 4u);  // every client opened
  EXPECT_EQ(b.max_probes_per_open, 1u);
  EXPECT_GT(b.unsent_fetches, 0u);
  ASSERT_TRUE(b.max_unsent_fetch_ms);
  EXPECT_LT(*b.max_unsent_fetch_ms, 1.0);
  ASSERT_TRUE(b.last_close_after_fault_ms);
  EXPECT_LE(*b.last_close_after_fault_ms, 1000.0);  // within one open interval
  EXPECT_TRUE(b.all_closed_at_end);
  ASSERT_TRUE(r.fault_amplification);
  EXPECT_LT(*r.fault_amplification, 0.5);  // the server hardly sees the clients while open
}

TEST(Simulation, OverloadWithABreakerRecoversAfterTheSpike) {
  auto settings = small(Scenario::overload);
  settings.duration = 20s;
  const auto r = run_configuration(settings, named("retries + budget + breaker"));
  ASSERT_TRUE(r.recovery_ms) << "the breaker lets the queue drain";
  EXPECT_LE(*r.recovery_ms, 8000.0);
}

TEST(Simulation, TailServesTwoPercentSlowly) {
  const auto r = run_configuration(small(Scenario::tail), named("no retries"));
  ASSERT_TRUE(r.p50_ms && r.p999_ms);
  EXPECT_LT(*r.p50_ms, 15.0);
  EXPECT_GT(*r.p999_ms, 700.0);
  EXPECT_FALSE(r.recovery_ms);
  EXPECT_FALSE(r.fault_amplification);
}

TEST(Simulation, RecoveryNeedsEverySliceToTheEndAtOrAboveTheThreshold) {
  std::vector<Bucket> s(6);
  for (auto& b : s) b.successes = 100;
  s[1].failures = 100;  // 50 %
  s[3].failures = 4;    // 96 %
  EXPECT_EQ(first_stable_slice(s, 0, 0.95), 2u);
  s[4] = Bucket{};  // nothing ended in it: no rate, so it does not break the stretch
  EXPECT_EQ(first_stable_slice(s, 0, 0.95), 2u);
  s[2] = Bucket{};  // ... nor start one
  EXPECT_EQ(first_stable_slice(s, 0, 0.95), 3u);
  EXPECT_EQ(first_stable_slice(s, 4, 0.95), 5u);
  s[5].failures = 100;
  EXPECT_FALSE(first_stable_slice(s, 0, 0.95));
  EXPECT_FALSE(first_stable_slice(std::vector<Bucket>(3), 0, 0.95)) << "nothing ended at all";
}

TEST(Simulation, RejectsSettingsOutOfRange) {
  auto s = small(Scenario::outage);
  s.clients = 0;
  EXPECT_THROW((void)run_configuration(s, named("retries")), std::invalid_argument);
  s = small(Scenario::outage);
  s.rate = 0;
  EXPECT_THROW((void)run_configuration(s, named("retries")), std::invalid_argument);
}

}  // namespace
}  // namespace fetchpipe::simulate
