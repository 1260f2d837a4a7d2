#include "fetchpipe/simulate/simulation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include <fetchpipe/executor.hpp>
#include <fetchpipe/policies/adaptive_hedging.hpp>
#include <fetchpipe/policies/fixed_hedging.hpp>
#include <fetchpipe/retry_budget.hpp>
#include <fetchpipe/scheduler.hpp>

#include "counting_breaker.hpp"
#include "fetchpipe/simulate/sim_random.hpp"
#include "fetchpipe/simulate/simulated_server.hpp"

namespace fetchpipe::simulate {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kUrl = "http://simulated.invalid/item";
// A run whose fetches have not all ended this long after the arrivals stop is cut short.
constexpr std::chrono::nanoseconds kMaxDrain = std::chrono::hours{1};

double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Everything the fetches' callbacks and the sampling timer write, on the simulation's one thread.
struct Recorder {
  TimePoint start{};
  std::vector<Bucket> series;
  std::vector<std::int64_t> latencies_ns;
  std::uint64_t offered = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t ended = 0;
  std::uint64_t unsent = 0;
  std::optional<double> slowest_unsent_ms;

  [[nodiscard]] std::optional<std::size_t> slice_of(TimePoint t) const {
    const auto i = static_cast<std::size_t>((t - start) / kBucket);
    return i < series.size() ? std::optional<std::size_t>{i} : std::nullopt;
  }

  // `unsent`: the fetch failed without sending anything (every attempt refused by the breaker).
  void ended_at(TimePoint now, TimePoint began, bool success, bool unsent = false) {
    ++ended;
    latencies_ns.push_back((now - began).count());
    if (success) ++succeeded;
    if (unsent) {
      ++this->unsent;
      slowest_unsent_ms = std::max(slowest_unsent_ms.value_or(0.0), ms(now - began));
    }
    if (const auto i = slice_of(now)) ++(success ? series[*i].successes : series[*i].failures);
  }
};

bool nothing_sent(const Error& e) {
  return e.kind == ErrorKind::circuit_open &&
         std::all_of(e.attempts.begin(), e.attempts.end(),
                     [](const AttemptRecord& a) { return a.error == ErrorKind::circuit_open; });
}

std::optional<double> percentile_ms(std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return std::nullopt;
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  const auto index = std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1);
  return ms(std::chrono::nanoseconds{sorted[index]});
}

void check(const SimulationSettings& s) {
  if (s.clients < 1) throw std::invalid_argument(fmt::format("simulate: clients must be >= 1, got {}", s.clients));
  if (!(s.rate > 0) || !std::isfinite(s.rate)) {
    throw std::invalid_argument(fmt::format("simulate: rate must be > 0, got {}", s.rate));
  }
  if (s.duration < kBucket) throw std::invalid_argument("simulate: duration must be >= 100ms");
}

BreakerSummary summarize(const std::vector<std::shared_ptr<CountingBreaker>>& breakers, const ScenarioPlan& plan,
                         const Recorder& rec, const ConsecutiveFailureBreaker::Options& options) {
  BreakerSummary out;
  out.open_for_ms = ms(options.open_for);
  out.unsent_fetches = rec.unsent;
  out.max_unsent_fetch_ms = rec.slowest_unsent_ms;
  for (const auto& b : breakers) {
    const auto t = b->tally();
    out.openings += t.openings;
    out.probes += t.probes;
    out.rejections += t.rejections;
    out.max_probes_per_open = std::max(out.max_probes_per_open, t.max_probes_per_open);
    if (t.state != CircuitState::closed) out.all_closed_at_end = false;
    if (plan.fault_until && !t.closes.empty()) {
      const auto fault_end = rec.start + *plan.fault_until;
      if (t.closes.back() >= fault_end) {
        out.last_close_after_fault_ms = std::max(out.last_close_after_fault_ms.value_or(0.0), ms(t.closes.back() - fault_end));
      }
    }
  }
  return out;
}

}  // namespace

std::vector<Configuration> standard_configurations(const DefaultRetryPolicy::Options& retry,
                                                   const ExponentialBackoff::Options& backoff,
                                                   const std::optional<TokenRetryBudget::Options>& budget,
                                                   const ConsecutiveFailureBreaker::Options& breaker,
                                                   const std::optional<HedgeSetting>& hedge, bool compare_hedging) {
  std::vector<Configuration> out;
  Configuration none{.name = "no retries", .retry = retry, .backoff = backoff};
  none.retry.max_attempts = 1;
  out.push_back(none);
  out.push_back(Configuration{.name = "retries", .retry = retry, .backoff = backoff});
  if (budget) {
    out.push_back(Configuration{.name = "retries + budget", .retry = retry, .backoff = backoff, .budget = budget});
    out.push_back(Configuration{
        .name = "retries + budget + breaker", .retry = retry, .backoff = backoff, .budget = budget, .breaker = breaker});
  } else {
    out.push_back(Configuration{.name = "retries + breaker", .retry = retry, .backoff = backoff, .breaker = breaker});
  }
  const std::string with = budget ? "retries + budget + hedge " : "retries + hedge ";
  const auto hedged = [&](HedgeSetting h) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(h.delay);
    const std::string delay = ms == h.delay ? fmt::format("{}ms", ms.count()) : fmt::format("{}us", h.delay.count() / 1000);
    out.push_back(Configuration{
        .name = with + (h.adaptive ? "auto" : delay), .retry = retry, .backoff = backoff, .budget = budget, .hedge = h});
  };
  if (compare_hedging) {
    HedgeSetting fixed = hedge && !hedge->adaptive ? *hedge : HedgeSetting{};
    fixed.adaptive = false;
    if (hedge) fixed.max_in_flight = hedge->max_in_flight;
    HedgeSetting adaptive = fixed;
    adaptive.adaptive = true;
    hedged(fixed);
    hedged(adaptive);
  } else if (hedge) {
    hedged(*hedge);
  }
  return out;
}

std::optional<std::size_t> first_stable_slice(const std::vector<Bucket>& series, std::size_t from, double threshold) {
  std::optional<std::size_t> stable;
  for (std::size_t i = series.size(); i-- > from;) {
    const auto ended = series[i].successes + series[i].failures;
    if (ended == 0) continue;  // no rate to judge: neither breaks nor starts a stable stretch
    if (static_cast<double>(series[i].successes) < threshold * static_cast<double>(ended)) break;
    stable = i;
  }
  return stable;
}

ConfigResult run_configuration(const SimulationSettings& settings, const Configuration& config) {
  check(settings);
  const ScenarioPlan plan = plan_scenario(settings.scenario, settings.rate, settings.duration);
  auto clock = std::make_shared<ManualScheduler>();
  auto server = std::make_shared<SimulatedServer>(clock, plan.server, derive_seed(settings.seed, 1));
  auto executor = std::make_shared<InlineExecutor>();

  Recorder rec;
  rec.start = clock->now();
  rec.series.resize(static_cast<std::size_t>(settings.duration / kBucket));

  std::vector<std::shared_ptr<CountingBreaker>> breakers;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < settings.clients; ++i) {
    ClientOptions options;
    options.transport = server;
    options.retry_policy = std::make_shared<DefaultRetryPolicy>(config.retry);
    auto backoff = config.backoff;
    backoff.seed = derive_seed(settings.seed, 1000 + static_cast<std::uint64_t>(i));
    options.backoff_policy = std::make_shared<ExponentialBackoff>(backoff);
    options.callback_executor = executor;
    options.scheduler = clock;
    options.timeouts = settings.timeouts;
    // Each client is a machine of its own: its own budget and breaker, as N processes would have.
    options.retry_budget = config.budget ? std::make_shared<TokenRetryBudget>(*config.budget) : no_retry_budget();
    if (config.breaker) {
      breakers.push_back(std::make_shared<CountingBreaker>(*config.breaker));
      options.circuit_breaker = breakers.back();
    }
    if (const auto& h = config.hedge) {
      if (h->adaptive) {
        options.hedging = std::make_shared<AdaptiveHedging>(AdaptiveHedging::Options{.max_in_flight = h->max_in_flight});
      } else {
        options.hedging = std::make_shared<FixedHedging>(FixedHedging::Options{h->delay, h->max_in_flight});
      }
    }
    clients.push_back(std::make_unique<Client>(std::move(options)));
  }

  // Open-loop arrivals: a Poisson process at the scenario's rate, handed to the clients in turn.
  SimRandom arrivals(derive_seed(settings.seed, 2));
  std::uint64_t next_client = 0;
  std::function<void()> arrive;
  const auto schedule_next = [&] {
    const double rate = plan.rate_at(clock->now() - rec.start);
    const auto gap = arrivals.exponential(std::chrono::nanoseconds{static_cast<std::int64_t>(1e9 / rate)});
    if (clock->now() + gap - rec.start < settings.duration) clock->schedule_after(gap, [&] { arrive(); });
  };
  arrive = [&] {
    const TimePoint began = clock->now();
    ++rec.offered;
    if (const auto i = rec.slice_of(began)) ++rec.series[*i].offered;
    Client& client = *clients[next_client++ % clients.size()];
    client.fetch(Request{.url = std::string(kUrl)},
                 Callbacks{.on_success = [&rec, &clock, began](Response) { rec.ended_at(clock->now(), began, true); },
                           .on_failure = [&rec, &clock, began](Error e) {
                             rec.ended_at(clock->now(), began, false, nothing_sent(e));
                           },
                           .on_cancel = [&rec, &clock, began](Error) { rec.ended_at(clock->now(), began, false); }});
    schedule_next();
  };
  schedule_next();

  // At the end of every slice: the attempts the server saw in it and the fetches still open.
  std::uint64_t arrivals_before = 0;
  for (std::size_t i = 0; i < rec.series.size(); ++i) {
    clock->schedule_at(rec.start + kBucket * static_cast<std::int64_t>(i + 1) - std::chrono::nanoseconds{1}, [&, i] {
      const auto seen = server->counts().arrivals;
      rec.series[i].attempts = seen - arrivals_before;
      arrivals_before = seen;
      rec.series[i].in_flight = rec.offered - rec.ended;
    });
  }

  clock->advance(settings.duration);
  // Arrivals have stopped; let every fetch reach its outcome (retries, backoff, timeouts).
  while (rec.ended < rec.offered && clock->now() - rec.start < settings.duration + kMaxDrain) {
    if (!clock->run_next()) break;
  }

  ConfigResult result;
  result.config = config.name;
  result.offered = rec.offered;
  result.attempts = server->counts().arrivals;
  result.succeeded = rec.succeeded;
  result.amplification = rec.offered ? static_cast<double>(result.attempts) / static_cast<double>(rec.offered) : 0;
  result.success_pct = rec.offered ? 100.0 * static_cast<double>(rec.succeeded) / static_cast<double>(rec.offered) : 0;
  std::sort(rec.latencies_ns.begin(), rec.latencies_ns.end());
  result.p50_ms = percentile_ms(rec.latencies_ns, 0.50);
  result.p99_ms = percentile_ms(rec.latencies_ns, 0.99);
  result.p999_ms = percentile_ms(rec.latencies_ns, 0.999);
  if (plan.fault_from && plan.fault_until) {
    const auto from = static_cast<std::size_t>(*plan.fault_from / kBucket);
    const auto until = std::min(rec.series.size(), static_cast<std::size_t>(*plan.fault_until / kBucket));
    std::uint64_t offered = 0, attempts = 0;
    for (std::size_t i = from; i < until; ++i) {
      offered += rec.series[i].offered;
      attempts += rec.series[i].attempts;
    }
    if (offered) result.fault_amplification = static_cast<double>(attempts) / static_cast<double>(offered);
    if (const auto stable = first_stable_slice(rec.series, until, 0.95)) {
      result.recovery_ms = ms(kBucket * static_cast<std::int64_t>(*stable)) - ms(*plan.fault_until);
      result.recovery_ms = std::max(0.0, *result.recovery_ms);
    }
  }
  if (config.breaker) result.breaker = summarize(breakers, plan, rec, *config.breaker);
  result.series = std::move(rec.series);
  clients.clear();  // every fetch has ended: nothing left to cancel
  return result;
}

}  // namespace fetchpipe::simulate
