// svg_chart.hpp — the `simulate --svg` chart: a self-contained SVG file (no script, no external
// font or stylesheet) that any browser opens.
//
// Two panels over the run's virtual time, per second: the attempts the server saw, and the
// fetches that succeeded; each has the offered load as a dashed grey line and one coloured line
// per configuration. The fault (outage or spike) is shaded.
#pragma once

#include <string>
#include <vector>

#include <fetchpipe/simulate/simulation.hpp>

namespace fetchpipe::cli {

[[nodiscard]] std::string simulate_svg(const simulate::SimulationSettings& settings,
                                       const std::vector<simulate::ConfigResult>& rows);

}  // namespace fetchpipe::cli
