// fetchpipe/simulate/simulation.hpp — runs the real Client against a SimulatedServer in virtual
// time, one configuration (retry policy, backoff, budget, breaker, hedging) at a time.
//
// `clients` Client objects (as many machines: each with its own budget and breaker) share one
// simulated server and one ManualScheduler. Fetches arrive open-loop — a Poisson process at the
// scenario's rate, handed to the clients in turn — so a slow server does not slow the arrivals.
// Retries, backoff, budget and breaker are the library's own: the simulator only counts.
// Deterministic for `seed`: arrivals, service times and backoff jitter each draw from a generator
// seeded from it; nothing reads a real clock.
//
// Example:
//   fetchpipe::simulate::SimulationSettings settings{.scenario = fetchpipe::simulate::Scenario::outage};
//   for (const auto& config : fetchpipe::simulate::standard_configurations({}, {}, {}, {}))
//     std::cout << fetchpipe::simulate::run_configuration(settings, config).amplification << '\n';
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fetchpipe/client.hpp>
#include <fetchpipe/consecutive_failure_breaker.hpp>
#include <fetchpipe/policies/default_retry_policy.hpp>
#include <fetchpipe/policies/exponential_backoff.hpp>
#include <fetchpipe/token_retry_budget.hpp>

#include "fetchpipe/simulate/scenario.hpp"

namespace fetchpipe::simulate {

inline constexpr std::chrono::milliseconds kBucket{100};  // the time series' resolution

struct SimulationSettings {
  Scenario scenario = Scenario::outage;
  int clients = 10;
  double rate = 1000;  // fetches per second
  std::chrono::nanoseconds duration{std::chrono::seconds{60}};
  std::uint64_t seed = 1;
  Timeouts timeouts{.attempt = std::chrono::seconds{1}};
};

// Hedging as the CLI's --hedge DUR|auto and --hedge-max N set it.
struct HedgeSetting {
  bool adaptive = false;               // auto: AdaptiveHedging (the origin's p95); else FixedHedging
  std::chrono::nanoseconds delay{std::chrono::milliseconds{50}};  // the fixed delay
  int max_in_flight = 2;
};

// One way of configuring every client.
struct Configuration {
  std::string name;  // "no retries", "retries", "retries + budget", "retries + budget + breaker"
  DefaultRetryPolicy::Options retry{};
  ExponentialBackoff::Options backoff{};
  std::optional<TokenRetryBudget::Options> budget{};  // empty: no budget at all
  std::optional<ConsecutiveFailureBreaker::Options> breaker{};
  std::optional<HedgeSetting> hedge{};  // each client gets a policy of its own
};

// The rows of the comparison: no retries (max_attempts 1); retries without a budget; retries with
// `budget` (skipped when it is empty: --no-retry-budget); and the same plus `breaker`. With
// `compare_hedging` (the tail scenario), two more: retries (with the budget) and fixed-delay
// hedging (`hedge`'s delay if it is fixed, else 50 ms), then with auto hedging. Otherwise a given
// `hedge` adds one row with it.
[[nodiscard]] std::vector<Configuration> standard_configurations(const DefaultRetryPolicy::Options& retry,
                                                                 const ExponentialBackoff::Options& backoff,
                                                                 const std::optional<TokenRetryBudget::Options>& budget,
                                                                 const ConsecutiveFailureBreaker::Options& breaker,
                                                                 const std::optional<HedgeSetting>& hedge = {},
                                                                 bool compare_hedging = false);

// One 100 ms slice of the run.
struct Bucket {
  std::uint64_t offered = 0;    // fetches started
  std::uint64_t attempts = 0;   // attempts the server saw
  std::uint64_t successes = 0;  // fetches that ended in success
  std::uint64_t failures = 0;   // ... in failure (or cancelled)
  std::uint64_t in_flight = 0;  // fetches not yet ended, at the end of the slice
};

// What the breakers (one per client) did, summed over the clients.
struct BreakerSummary {
  std::uint64_t openings = 0;                // transitions to open
  std::uint64_t probes = 0;                  // attempts admitted as the half-open probe
  std::uint64_t rejections = 0;              // attempts refused (nothing sent)
  std::uint64_t max_probes_per_open = 0;     // most probes admitted in one open interval of one client
  std::uint64_t unsent_fetches = 0;           // fetches that failed with nothing sent at all
  std::optional<double> max_unsent_fetch_ms;  // the slowest of those (virtual time)
  // Latest time, over the clients, the breaker closed after the fault ended (ms after its end);
  // empty when none had to close again.
  std::optional<double> last_close_after_fault_ms;
  bool all_closed_at_end = true;
  double open_for_ms = 0;
};

struct ConfigResult {
  std::string config;
  std::uint64_t offered = 0;
  std::uint64_t attempts = 0;
  std::uint64_t succeeded = 0;
  double amplification = 0;  // attempts / offered
  double success_pct = 0;
  std::optional<double> p50_ms, p99_ms, p999_ms;  // fetch latency, every fetch that ended
  // From the end of the fault until the success rate per 100 ms stays >= 95 % to the end of the
  // run; empty when it never does, or when the scenario has no fault.
  std::optional<double> recovery_ms;
  // attempts / offered counting only the slices inside the fault (empty without a fault).
  std::optional<double> fault_amplification;
  std::vector<Bucket> series;  // one per 100 ms of the run
  std::optional<BreakerSummary> breaker;
};

// Throws std::invalid_argument for settings out of range (clients < 1, rate <= 0, duration <= 0)
// and whatever the Client's own validation throws for the configuration.
[[nodiscard]] ConfigResult run_configuration(const SimulationSettings& settings, const Configuration& config);

// The first slice index, at or after `from`, from which every slice up to the end has successes /
// (successes + failures) >= `threshold`. A slice where no fetch ended has no rate: it neither
// breaks such a stretch nor starts one. Empty when there is none.
[[nodiscard]] std::optional<std::size_t> first_stable_slice(const std::vector<Bucket>& series, std::size_t from,
                                                            double threshold);

}  // namespace fetchpipe::simulate
