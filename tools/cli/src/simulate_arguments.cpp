#include "simulate_arguments.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <vector>

#include <fetchpipe/policies/timeouts.hpp>

#include "text.hpp"

namespace fetchpipe::cli {
namespace {

using namespace std::chrono_literals;

// A run simulates at most this many fetches per configuration: a few seconds of real time each.
constexpr double kMaxFetches = 5'000'000;

// The `get` flags simulate accepts, and whether each takes a value. The fleet flags are added
// from fleet_flags.hpp.
struct SharedFlag {
  std::string_view name;
  bool takes_value;
};
constexpr std::array kSharedGetFlags{
    SharedFlag{"--max-attempts", true},    SharedFlag{"--backoff-initial", true}, SharedFlag{"--backoff-max", true},
    SharedFlag{"--backoff-multiplier", true}, SharedFlag{"--jitter", true},      SharedFlag{"--retry-on", true},
    SharedFlag{"--retry-after-max", true}, SharedFlag{"--no-retry-after", false}, SharedFlag{"--timeout", true},
    SharedFlag{"--attempt-timeout", true},
};

std::optional<bool> shared_flag_takes_value(std::string_view name) {
  for (const auto& f : kSharedGetFlags) {
    if (f.name == name) return f.takes_value;
  }
  return fleet_flag_takes_value(name);
}

template <typename Number>
Number number_or_throw(std::string_view flag, std::string_view text, std::string_view what) {
  Number value{};
  const auto* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc{} || end != last) {
    throw UsageError(fmt::format("{}: not {}, got '{}'", flag, what, text));
  }
  return value;
}

// "N/s", "N/m" or a bare N (per second).
double parse_rate(std::string_view text) {
  std::string_view number = text;
  double per = 1.0;
  if (text.ends_with("/s")) {
    number.remove_suffix(2);
  } else if (text.ends_with("/m")) {
    number.remove_suffix(2);
    per = 60.0;
  }
  const double n = number_or_throw<double>("--rate", number, "a rate (N/s or N/m, e.g. 1000/s)");
  const double rate = n / per;
  if (!(rate > 0) || !std::isfinite(rate)) throw UsageError(fmt::format("--rate: must be > 0, got '{}'", text));
  if (rate > 100'000) throw UsageError(fmt::format("--rate: must be at most 100000/s, got '{}'", text));
  return rate;
}

std::chrono::nanoseconds parse_run_duration(std::string_view text) {
  const auto d = parse_duration(text);
  if (!d) throw UsageError(fmt::format("--duration: not a duration (a number with ms, s or m, e.g. 30s), got '{}'", text));
  if (*d < 1s || *d > 10min) throw UsageError(fmt::format("--duration: must be 1s..10m, got '{}'", text));
  return *d;
}

// Reads `--name value` / `--name=value` forms; the value of a flag may not look like a long option.
class Tokens {
 public:
  explicit Tokens(Args args) : args_(args) {}
  [[nodiscard]] bool done() const { return pos_ >= args_.size(); }
  std::string_view next() { return args_[pos_++]; }
  std::string_view value_of(std::string_view name, const std::optional<std::string_view>& attached) {
    if (attached) return *attached;
    if (done() || (args_[pos_].size() > 2 && args_[pos_].starts_with("--"))) {
      throw UsageError(fmt::format("{}: missing value", name));
    }
    return next();
  }

 private:
  Args args_;
  std::size_t pos_ = 0;
};

void apply_own_flag(SimulateCommand& cmd, std::string_view name, std::string_view value) {
  if (name == "--scenario") {
    const auto s = simulate::scenario_from_string(value);
    if (!s) throw UsageError(fmt::format("--scenario: unknown scenario (expected outage, overload or tail), got '{}'", value));
    cmd.settings.scenario = *s;
  } else if (name == "--clients") {
    const int n = number_or_throw<int>("--clients", value, "a whole number");
    if (n < 1 || n > 1000) throw UsageError(fmt::format("--clients: must be 1..1000, got '{}'", value));
    cmd.settings.clients = n;
  } else if (name == "--rate") {
    cmd.settings.rate = parse_rate(value);
  } else if (name == "--duration") {
    cmd.settings.duration = parse_run_duration(value);
  } else if (name == "--seed") {
    cmd.settings.seed = number_or_throw<std::uint64_t>("--seed", value, "a whole number >= 0");
  } else if (name == "--csv" || name == "--svg") {
    if (value.empty()) throw UsageError(fmt::format("{}: empty file name", name));
    (name == "--csv" ? cmd.csv : cmd.svg) = std::string(value);
  }
}

constexpr std::array<std::string_view, 7> kOwnValueFlags{"--scenario", "--clients", "--rate", "--duration",
                                                         "--seed",     "--csv",     "--svg"};

}  // namespace

SimulateCommand parse_simulate(Args args) {
  SimulateCommand cmd;
  std::vector<std::string> shared;  // the get flags, as given, for parse_get
  bool attempt_timeout_given = false;
  Tokens tokens(args);
  while (!tokens.done()) {
    const std::string_view token = tokens.next();
    if (token == "-h" || token == "--help") {
      cmd.help = true;
      continue;
    }
    if (token.size() > 1 && token.starts_with('-') && !token.starts_with("--")) {
      throw UsageError(fmt::format("unknown option '{}' (see fetchpipe simulate --help)", token));
    }
    if (!token.starts_with("--") || token == "--") {
      throw UsageError(fmt::format("simulate: unexpected argument '{}'", token));
    }
    const auto eq = token.find('=');
    const std::string_view name = token.substr(0, eq);
    const auto attached = eq == std::string_view::npos ? std::nullopt : std::optional{token.substr(eq + 1)};
    if (name == "--json") {
      if (attached) throw UsageError(fmt::format("--json: takes no value, got '{}'", *attached));
      cmd.json = true;
    } else if (std::find(kOwnValueFlags.begin(), kOwnValueFlags.end(), name) != kOwnValueFlags.end()) {
      apply_own_flag(cmd, name, tokens.value_of(name, attached));
    } else if (const auto takes_value = shared_flag_takes_value(name)) {
      attempt_timeout_given = attempt_timeout_given || name == "--attempt-timeout";
      shared.emplace_back(token);
      if (*takes_value && !attached) shared.emplace_back(tokens.value_of(name, attached));
    } else {
      throw UsageError(fmt::format("unknown option '{}' (see fetchpipe simulate --help)", name));
    }
  }
  if (cmd.help) return cmd;
  if (cmd.settings.rate * std::chrono::duration<double>(cmd.settings.duration).count() > kMaxFetches) {
    throw UsageError(fmt::format("--rate: at most {:.0f} fetches per run, got {:g}/s for {:g} s", kMaxFetches,
                                 cmd.settings.rate, std::chrono::duration<double>(cmd.settings.duration).count()));
  }
  // The shared flags mean exactly what they mean to `get`: its parser checks them.
  shared.emplace_back("http://simulated.invalid/");
  const std::vector<std::string_view> views(shared.begin(), shared.end());
  GetParse parsed = parse_get(Args(views));
  if (parsed.error) throw UsageError(*parsed.error);
  cmd.retry = parsed.command.retry;
  cmd.backoff = parsed.command.backoff;
  cmd.fleet = parsed.command.fleet;
  cmd.settings.timeouts.overall = parsed.command.timeouts.overall;
  // get's 30 s attempt timeout would hide every queueing effect in a one-minute run: simulate
  // defaults to 1 s, about what a service calling another service would set.
  cmd.settings.timeouts.attempt = attempt_timeout_given ? parsed.command.timeouts.attempt : std::chrono::nanoseconds{1s};
  return cmd;
}

}  // namespace fetchpipe::cli
