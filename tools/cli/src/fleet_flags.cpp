#include "fleet_flags.hpp"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

#include <fetchpipe/policies/adaptive_hedging.hpp>
#include <fetchpipe/policies/fixed_hedging.hpp>
#include <fetchpipe/policies/timeouts.hpp>
#include <fetchpipe/retry_budget.hpp>

#include "text.hpp"

namespace fetchpipe::cli {
namespace {

using namespace std::chrono_literals;

// "RATIO[,MIN]" or "N[,DUR]": the text before the first comma and what follows it, if any.
std::pair<std::string_view, std::optional<std::string_view>> split_pair(std::string_view text) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return {text, std::nullopt};
  return {text.substr(0, comma), text.substr(comma + 1)};
}

template <typename Number>
std::optional<Number> number_of(std::string_view text) {
  Number value{};
  const auto* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc{} || end != last) return std::nullopt;
  return value;
}

// The library's rule without its class name and value: "ratio must be in [0, 1000]".
std::string rule_of(const std::invalid_argument& e) {
  std::string_view message = e.what();
  if (const auto colon = message.find(": "); colon != std::string_view::npos) message.remove_prefix(colon + 2);
  if (const auto got = message.rfind(", got"); got != std::string_view::npos) message = message.substr(0, got);
  return std::string(message);
}

// The library's constructor decides what is valid; the CLI rephrases its refusal around the flag.
template <typename Component>
void check_with_library(std::string_view flag, const typename Component::Options& options, std::string_view text) {
  try {
    (void)Component(options);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("{}: {}, got '{}'", flag, rule_of(e), text));
  }
}

void parse_budget(FleetFlags& fleet, std::string_view text) {
  constexpr std::string_view kForm = "RATIO[,MIN], e.g. 0.2,10";
  const auto [ratio_text, min_text] = split_pair(text);
  TokenRetryBudget::Options options;
  const auto ratio = number_of<double>(ratio_text);
  if (!ratio) throw UsageError(fmt::format("--retry-budget: not {}, got '{}'", kForm, text));
  options.ratio = *ratio;
  if (min_text) {
    const auto min = number_of<int>(*min_text);
    if (!min) throw UsageError(fmt::format("--retry-budget: MIN is not a whole number ({}), got '{}'", kForm, text));
    options.min_per_second = *min;
  }
  check_with_library<TokenRetryBudget>("--retry-budget", options, text);
  fleet.budget = FleetFlags::Budget::custom;
  fleet.budget_options = options;
}

void parse_breaker(FleetFlags& fleet, std::string_view text) {
  constexpr std::string_view kForm = "N[,DUR], e.g. 5,10s";
  const auto [count_text, open_text] = split_pair(text);
  ConsecutiveFailureBreaker::Options options;
  const auto count = number_of<int>(count_text);
  if (!count) throw UsageError(fmt::format("--circuit-breaker: N is not a whole number ({}), got '{}'", kForm, text));
  if (*count < 1) throw UsageError(fmt::format("--circuit-breaker: N must be >= 1, got '{}'", text));
  options.consecutive_failures = *count;
  if (open_text) {
    const auto open_for = parse_duration(*open_text);
    if (!open_for) {
      throw UsageError(fmt::format("--circuit-breaker: DUR is not a duration (a number with ms, s or m), got '{}'", text));
    }
    if (*open_for <= 0ns) throw UsageError(fmt::format("--circuit-breaker: DUR must be > 0, got '{}'", text));
    options.open_for = *open_for;
  }
  check_with_library<ConsecutiveFailureBreaker>("--circuit-breaker", options, text);
  fleet.breaker = options;
}

void parse_hedge(FleetFlags& fleet, std::string_view text) {
  if (text == "auto") {
    fleet.hedge = FleetFlags::Hedge::adaptive;
    return;
  }
  const auto delay = parse_duration(text);
  if (!delay) throw UsageError(fmt::format("--hedge: not a duration (a number with ms, s or m) or 'auto', got '{}'", text));
  if (*delay <= 0ns) throw UsageError(fmt::format("--hedge: the delay must be > 0, got '{}'", text));
  fleet.hedge = FleetFlags::Hedge::fixed;
  fleet.hedge_delay = *delay;
}

void parse_hedge_max(FleetFlags& fleet, std::string_view text) {
  const auto n = number_of<int>(text);
  if (!n || *n < 2 || *n > 5) throw UsageError(fmt::format("--hedge-max: N must be a whole number 2..5, got '{}'", text));
  fleet.hedge_max = *n;
}

}  // namespace

std::optional<bool> fleet_flag_takes_value(std::string_view name) {
  if (name == "--retry-budget" || name == "--circuit-breaker" || name == "--hedge" || name == "--hedge-max") return true;
  if (name == "--no-retry-budget") return false;
  return std::nullopt;
}

void apply_fleet_flag(FleetFlags& fleet, std::string_view name, std::optional<std::string_view> value) {
  if (name == "--no-retry-budget") {
    fleet.budget = FleetFlags::Budget::none;
  } else if (name == "--retry-budget") {
    parse_budget(fleet, value.value_or(""));
  } else if (name == "--circuit-breaker") {
    parse_breaker(fleet, value.value_or(""));
  } else if (name == "--hedge") {
    parse_hedge(fleet, value.value_or(""));
  } else if (name == "--hedge-max") {
    parse_hedge_max(fleet, value.value_or(""));
  } else {
    throw UsageError(fmt::format("unknown option '{}'", name));
  }
}

void check_fleet_flags(const FleetFlags& fleet) {
  if (fleet.hedge_max && fleet.hedge == FleetFlags::Hedge::off) {
    throw UsageError(fmt::format("--hedge-max: only with --hedge DUR|auto, got '{}' alone", *fleet.hedge_max));
  }
}

std::optional<TokenRetryBudget::Options> budget_of(const FleetFlags& fleet) {
  switch (fleet.budget) {
    case FleetFlags::Budget::client_default: return TokenRetryBudget::Options{};
    case FleetFlags::Budget::custom: return fleet.budget_options;
    case FleetFlags::Budget::none: return std::nullopt;
  }
  return std::nullopt;
}

void apply_fleet_options(const FleetFlags& fleet, ClientOptions& options) {
  switch (fleet.budget) {
    case FleetFlags::Budget::client_default: break;  // the client builds its own
    case FleetFlags::Budget::custom: options.retry_budget = std::make_shared<TokenRetryBudget>(fleet.budget_options); break;
    case FleetFlags::Budget::none: options.retry_budget = no_retry_budget(); break;
  }
  if (fleet.breaker) options.circuit_breaker = std::make_shared<ConsecutiveFailureBreaker>(*fleet.breaker);
  const int in_flight = fleet.hedge_max.value_or(2);
  switch (fleet.hedge) {
    case FleetFlags::Hedge::off: break;
    case FleetFlags::Hedge::fixed:
      options.hedging = std::make_shared<FixedHedging>(FixedHedging::Options{fleet.hedge_delay, in_flight});
      break;
    case FleetFlags::Hedge::adaptive: {
      AdaptiveHedging::Options adaptive;
      adaptive.max_in_flight = in_flight;
      options.hedging = std::make_shared<AdaptiveHedging>(adaptive);
      break;
    }
  }
}

}  // namespace fetchpipe::cli
