// fleet_flags.hpp — the options that make a fleet of clients safe, shared by `get` and
// `simulate`: --retry-budget RATIO[,MIN], --no-retry-budget, --circuit-breaker N[,DUR],
// --hedge DUR|auto, --hedge-max N.
//
// The command's own parser recognises the names with fleet_flag_takes_value(), reads the value
// its usual way, and hands both to apply_fleet_flag(); apply_fleet_options() then puts the
// result into ClientOptions. Values are checked by the library's constructors (TokenRetryBudget,
// ConsecutiveFailureBreaker), so the tool and the library agree on what is valid.
//
//   FleetFlags fleet;
//   apply_fleet_flag(fleet, "--circuit-breaker", "5,2s");   // throws UsageError on a bad value
//   apply_fleet_options(fleet, options);                    // ConsecutiveFailureBreaker{5, 2 s}
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include <fetchpipe/client.hpp>
#include <fetchpipe/consecutive_failure_breaker.hpp>
#include <fetchpipe/token_retry_budget.hpp>

namespace fetchpipe::cli {

struct FleetFlags {
  enum class Budget { client_default, custom, none };
  Budget budget = Budget::client_default;
  TokenRetryBudget::Options budget_options{};                 // with Budget::custom
  std::optional<ConsecutiveFailureBreaker::Options> breaker;  // --circuit-breaker; default none
  enum class Hedge { off, fixed, adaptive };
  Hedge hedge = Hedge::off;                                   // --hedge DUR (fixed) or auto
  std::chrono::nanoseconds hedge_delay{0};                    // with Hedge::fixed
  std::optional<int> hedge_max;                               // --hedge-max; default 2
};

// Empty when `name` is not a fleet flag; else whether it takes a value.
[[nodiscard]] std::optional<bool> fleet_flag_takes_value(std::string_view name);

// Applies one fleet flag (`value` empty for --no-retry-budget). The last of --retry-budget and
// --no-retry-budget wins. Throws UsageError naming the flag and the value.
void apply_fleet_flag(FleetFlags& fleet, std::string_view name, std::optional<std::string_view> value);

// What only the whole command line can tell: --hedge-max needs --hedge. Throws UsageError.
void check_fleet_flags(const FleetFlags& fleet);

// The budget the flags ask for, as TokenRetryBudget options (the default ones unless
// --retry-budget was given); empty for --no-retry-budget.
[[nodiscard]] std::optional<TokenRetryBudget::Options> budget_of(const FleetFlags& fleet);

// Sets options.retry_budget (left empty for the client's own default), options.circuit_breaker and
// options.hedging.
void apply_fleet_options(const FleetFlags& fleet, ClientOptions& options);

}  // namespace fetchpipe::cli
