#include "fetchpipe/simulate/scenario.hpp"

#include <algorithm>
#include <cmath>

namespace fetchpipe::simulate {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds share(std::chrono::nanoseconds duration, double fraction) {
  return std::chrono::nanoseconds{static_cast<std::int64_t>(static_cast<double>(duration.count()) * fraction)};
}

ScenarioPlan outage(double rate, std::chrono::nanoseconds duration) {
  ScenarioPlan plan;
  plan.server.service = ServiceTime{.typical = 10ms};
  plan.server.fault_from = share(duration, 0.25);
  plan.server.fault_until = share(duration, 0.75);
  plan.base_rate = plan.spike_rate = rate;
  plan.fault_from = plan.server.fault_from;
  plan.fault_until = plan.server.fault_until;
  return plan;
}

ScenarioPlan overload(double rate, std::chrono::nanoseconds duration) {
  ScenarioPlan plan;
  // Offered load is 90 % of capacity: capacity = rate / 0.9 requests per second, served by
  // workers of about 20 ms each (at least one worker; the service time then follows from it).
  const double capacity = rate / 0.9;
  const int workers = std::max(1, static_cast<int>(std::lround(capacity * 0.020)));
  const auto service = std::chrono::nanoseconds{static_cast<std::int64_t>(1e9 * workers / capacity)};
  plan.server.workers = workers;
  plan.server.service = ServiceTime{.typical = service, .shape = ServiceShape::exponential};
  // A backlog of 1 s of work, the clients' attempt timeout by default: a server sized so that
  // what it queues can still be answered in time. (A longer queue only stores work its clients
  // have given up on: with 4 s of it, even clients that never retry keep the server down for
  // about 30 s after the spike, and no client-side policy can be judged. BENCHMARKS.md has
  // that run too.) Arrivals past it are refused at once with 503.
  plan.server.queue_limit = static_cast<std::size_t>(std::max(1.0, std::ceil(capacity * 1.0)));
  plan.base_rate = rate;
  plan.spike_rate = 2.0 * capacity;
  plan.spike_from = share(duration, 0.30);
  plan.spike_until = share(duration, 0.40);
  plan.fault_from = plan.spike_from;
  plan.fault_until = plan.spike_until;
  return plan;
}

ScenarioPlan tail(double rate) {
  ScenarioPlan plan;
  plan.server.service = ServiceTime{.typical = 10ms, .slow_fraction = 0.02, .slow = 1s};
  plan.base_rate = plan.spike_rate = rate;
  return plan;
}

}  // namespace

std::string_view to_string(Scenario scenario) noexcept {
  switch (scenario) {
    case Scenario::outage: return "outage";
    case Scenario::overload: return "overload";
    case Scenario::tail: return "tail";
  }
  return "?";
}

std::optional<Scenario> scenario_from_string(std::string_view name) noexcept {
  for (const auto s : {Scenario::outage, Scenario::overload, Scenario::tail}) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

ScenarioPlan plan_scenario(Scenario scenario, double rate, std::chrono::nanoseconds duration) {
  switch (scenario) {
    case Scenario::outage: return outage(rate, duration);
    case Scenario::overload: return overload(rate, duration);
    case Scenario::tail: return tail(rate);
  }
  return tail(rate);
}

}  // namespace fetchpipe::simulate
