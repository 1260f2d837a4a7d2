#include "simulate_output.hpp"

#include <fmt/format.h>

#include <cmath>

#include "json_writer.hpp"

namespace fetchpipe::cli {
namespace {

using simulate::ConfigResult;

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// Rounded so the JSON is stable and short: 3 decimals for ratios, 1 for milliseconds. Dividing by
// a power of ten (not multiplying by its inverse) gives the double nearest the short decimal.
double round_to(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(x * scale) / scale;
}

std::string ms_cell(const std::optional<double>& v) { return v ? fmt::format("{:.1f}", *v) : "-"; }

std::optional<double> rounded(const std::optional<double>& v, int decimals) {
  return v ? std::optional{round_to(*v, decimals)} : std::nullopt;
}

}  // namespace

std::string simulate_table_header(const simulate::SimulationSettings& s) {
  return fmt::format(
      "fetchpipe simulate: {}, {} client{}, {:g} fetches/s, {:g} s of virtual time, seed {}\n"
      "{:<30} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>11}\n",
      to_string(s.scenario), s.clients, s.clients == 1 ? "" : "s", s.rate, seconds(s.duration), s.seed, "config",
      "offered", "attempts", "ampl.", "success", "p50 ms", "p99 ms", "p99.9 ms", "recovery ms");
}

std::string simulate_table_row(const ConfigResult& r) {
  return fmt::format("{:<30} {:>9} {:>9} {:>6.2f}x {:>8.2f}% {:>9} {:>9} {:>9} {:>11}\n", r.config, r.offered,
                     r.attempts, r.amplification, r.success_pct, ms_cell(r.p50_ms), ms_cell(r.p99_ms),
                     ms_cell(r.p999_ms), r.recovery_ms ? fmt::format("{:.0f}", *r.recovery_ms) : "-");
}

std::string simulate_table_notes(const simulate::SimulationSettings& s, const std::vector<ConfigResult>& rows) {
  std::string out;
  const auto plan = simulate::plan_scenario(s.scenario, s.rate, s.duration);
  if (plan.fault_from && plan.fault_until) {
    out += fmt::format("During the {} ({:g} s to {:g} s), attempts per offered fetch:",
                       s.scenario == simulate::Scenario::outage ? "outage" : "spike", seconds(*plan.fault_from),
                       seconds(*plan.fault_until));
    const char* sep = " ";
    for (const auto& r : rows) {
      if (!r.fault_amplification) continue;
      out += fmt::format("{}{} {:.2f}x", sep, r.config, *r.fault_amplification);
      sep = "; ";
    }
    out += ".\nRecovery: from the end of the fault until the success rate per 100 ms stays >= 95 %.\n";
  }
  for (const auto& r : rows) {
    if (!r.breaker) continue;
    const auto& b = *r.breaker;
    out += fmt::format(
        "Breaker ({}, one per client, open for {:g} ms): {} openings, {} probes (at most {} per open interval), "
        "{} attempts refused unsent",
        r.config, b.open_for_ms, b.openings, b.probes, b.max_probes_per_open, b.rejections);
    if (b.max_unsent_fetch_ms) {
      out += fmt::format("; {} fetches failed with nothing sent, each within {:.3f} ms", b.unsent_fetches,
                         *b.max_unsent_fetch_ms);
    }
    if (b.last_close_after_fault_ms) out += fmt::format("; all closed {:.0f} ms after the fault ended", *b.last_close_after_fault_ms);
    out += b.all_closed_at_end ? ".\n" : "; some still open at the end.\n";
  }
  return out;
}

std::string simulate_json(const simulate::SimulationSettings& s, const std::vector<ConfigResult>& rows) {
  JsonWriter w;
  w.begin_object().key("scenario").value(to_string(s.scenario)).key("seed").value(s.seed).key("rows").begin_array();
  for (const auto& r : rows) {
    w.begin_object()
        .key("config").value(r.config)
        .key("offered").value(r.offered)
        .key("attempts").value(r.attempts)
        .key("amplification").value(round_to(r.amplification, 3))
        .key("success_pct").value(round_to(r.success_pct, 2))
        .key("p50_ms").value(rounded(r.p50_ms, 1))
        .key("p99_ms").value(rounded(r.p99_ms, 1))
        .key("p999_ms").value(rounded(r.p999_ms, 1))
        .key("recovery_ms").value(rounded(r.recovery_ms, 0))
        .end_object();
  }
  w.end_array().end_object();
  return w.str();
}

std::string simulate_csv(const std::vector<ConfigResult>& rows) {
  std::string out = "config,t_ms,offered,attempts,successes,failures,in_flight\n";
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.series.size(); ++i) {
      const auto& b = r.series[i];
      out += fmt::format("{},{},{},{},{},{},{}\n", r.config, i * simulate::kBucket.count(), b.offered, b.attempts,
                         b.successes, b.failures, b.in_flight);
    }
  }
  return out;
}

}  // namespace fetchpipe::cli
