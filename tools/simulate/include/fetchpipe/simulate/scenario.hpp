// fetchpipe/simulate/scenario.hpp — the three situations `fetchpipe simulate` can stage: the
// server model, the offered load over time, and when the fault is.
//
//   outage    a server with room to spare (about 10 ms per request, no queueing) that answers 503
//             to every request from 25 % to 75 % of the run;
//   overload  a server with a fixed capacity: workers serving about 20 ms each (exponential), a
//             queue holding 4 s of work (a listen backlog; beyond it 503 at once), and clients'
//             abandoned requests still served (wasted). Offered load is 90 % of capacity, with a
//             spike to 200 % from 30 % to 40 % of the run;
//   tail      98 % of requests take about 10 ms and 2 % about 1 s, no queueing, no fault.
// `rate` is the offered load in fetches per second outside the spike.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "fetchpipe/simulate/simulated_server.hpp"

namespace fetchpipe::simulate {

enum class Scenario { outage, overload, tail };
[[nodiscard]] std::string_view to_string(Scenario scenario) noexcept;
[[nodiscard]] std::optional<Scenario> scenario_from_string(std::string_view name) noexcept;

struct ScenarioPlan {
  ServerModel server;
  double base_rate = 0;   // fetches per second offered
  double spike_rate = 0;  // ... between spike_from and spike_until
  std::chrono::nanoseconds spike_from{0};
  std::chrono::nanoseconds spike_until{0};
  // When the fault is (the outage, or the spike): recovery is measured from its end.
  std::optional<std::chrono::nanoseconds> fault_from{};
  std::optional<std::chrono::nanoseconds> fault_until{};

  // Offered fetches per second at `t` since the start.
  [[nodiscard]] double rate_at(std::chrono::nanoseconds t) const {
    return t >= spike_from && t < spike_until ? spike_rate : base_rate;
  }
};

// `rate` > 0 fetches per second, `duration` > 0.
[[nodiscard]] ScenarioPlan plan_scenario(Scenario scenario, double rate, std::chrono::nanoseconds duration);

}  // namespace fetchpipe::simulate
