// simulate_output.hpp — what `fetchpipe simulate` prints and writes: the table, the --json
// object, and the --csv time series. The SVG chart is in svg_chart.hpp.
#pragma once

#include <string>
#include <vector>

#include <fetchpipe/simulate/simulation.hpp>

namespace fetchpipe::cli {

// "outage: 10 clients, 1000 fetches/s, 60 s of virtual time, seed 1" and the column headings.
[[nodiscard]] std::string simulate_table_header(const simulate::SimulationSettings& settings);
[[nodiscard]] std::string simulate_table_row(const simulate::ConfigResult& row);
// Lines under the table: amplification inside the fault, and what the breaker did.
[[nodiscard]] std::string simulate_table_notes(const simulate::SimulationSettings& settings,
                                               const std::vector<simulate::ConfigResult>& rows);

// {"scenario": ..., "seed": N, "rows": [{config, offered, attempts, amplification, success_pct,
//  p50_ms, p99_ms, p999_ms, recovery_ms}]} on one line.
[[nodiscard]] std::string simulate_json(const simulate::SimulationSettings& settings,
                                        const std::vector<simulate::ConfigResult>& rows);

// One line per configuration and 100 ms slice:
// config,t_ms,offered,attempts,successes,failures,in_flight (with a heading line).
[[nodiscard]] std::string simulate_csv(const std::vector<simulate::ConfigResult>& rows);

}  // namespace fetchpipe::cli
