// `fetchpipe simulate`: the real client against a simulated server, in virtual time.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include <fetchpipe/simulate/simulation.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "simulate_arguments.hpp"
#include "simulate_output.hpp"
#include "svg_chart.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// Opened before the run, so a path that cannot be written is a usage error, not a lost run.
std::optional<std::ofstream> open_output(std::string_view flag, const std::optional<std::string>& path) {
  if (!path) return std::nullopt;
  std::ofstream out(*path, std::ios::binary | std::ios::trunc);
  if (!out) throw UsageError(fmt::format("{}: cannot write '{}': {}", flag, *path, std::strerror(errno)));
  return out;
}

void write_output(std::string_view flag, const std::optional<std::string>& path, std::optional<std::ofstream>& out,
                  const std::string& text) {
  if (!out) return;
  *out << text;
  out->close();
  if (!*out) throw std::runtime_error(fmt::format("{}: writing '{}' failed", flag, *path));
}

}  // namespace

int run_simulate(Args args) {
  const SimulateCommand cmd = parse_simulate(args);
  if (cmd.help) {
    fmt::print("{}", kSimulateHelp);
    return kExitSuccess;
  }
  auto csv = open_output("--csv", cmd.csv);
  auto svg = open_output("--svg", cmd.svg);

  // Without --circuit-breaker, the breaker row uses what the flag's defaults would give for N = 5.
  ConsecutiveFailureBreaker::Options breaker{.consecutive_failures = 5};
  if (cmd.fleet.breaker) breaker = *cmd.fleet.breaker;
  std::optional<simulate::HedgeSetting> hedge;
  if (cmd.fleet.hedge != FleetFlags::Hedge::off) {
    hedge = simulate::HedgeSetting{.adaptive = cmd.fleet.hedge == FleetFlags::Hedge::adaptive,
                                   .max_in_flight = cmd.fleet.hedge_max.value_or(2)};
    if (cmd.fleet.hedge == FleetFlags::Hedge::fixed) hedge->delay = cmd.fleet.hedge_delay;
  }
  const auto configs = simulate::standard_configurations(cmd.retry, cmd.backoff, budget_of(cmd.fleet), breaker, hedge,
                                                         cmd.settings.scenario == simulate::Scenario::tail);

  if (!cmd.json) {
    fmt::print("{}", simulate_table_header(cmd.settings));
    std::fflush(stdout);
  }
  std::vector<simulate::ConfigResult> rows;
  for (const auto& config : configs) {
    rows.push_back(simulate::run_configuration(cmd.settings, config));
    if (!cmd.json) {
      fmt::print("{}", simulate_table_row(rows.back()));
      std::fflush(stdout);
    }
  }
  if (cmd.json) {
    fmt::print("{}\n", simulate_json(cmd.settings, rows));
  } else {
    fmt::print("{}", simulate_table_notes(cmd.settings, rows));
  }
  write_output("--csv", cmd.csv, csv, simulate_csv(rows));
  write_output("--svg", cmd.svg, svg, simulate_svg(cmd.settings, rows));
  return kExitSuccess;
}

}  // namespace fetchpipe::cli
