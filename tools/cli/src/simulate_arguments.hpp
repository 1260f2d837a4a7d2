// simulate_arguments.hpp — the command line of `fetchpipe simulate`.
//
// Its own flags (--scenario, --clients, --rate, --duration, --seed, --csv, --svg, --json) are
// read here; the retry, timeout, budget and breaker flags it shares with `get` are handed to
// parse_get(), so both commands accept and reject exactly the same values, in the same words.
#pragma once

#include <optional>
#include <string>

#include <fetchpipe/simulate/simulation.hpp>

#include "arguments.hpp"
#include "fleet_flags.hpp"

namespace fetchpipe::cli {

struct SimulateCommand {
  simulate::SimulationSettings settings{};  // its timeouts come from --timeout/--attempt-timeout
  DefaultRetryPolicy::Options retry{};
  ExponentialBackoff::Options backoff{};
  FleetFlags fleet{};
  std::optional<std::string> csv{};
  std::optional<std::string> svg{};
  bool json = false;
  bool help = false;
};

// Throws UsageError naming the flag and the value.
[[nodiscard]] SimulateCommand parse_simulate(Args args);

}  // namespace fetchpipe::cli
