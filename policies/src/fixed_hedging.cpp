#include "fetchpipe/policies/fixed_hedging.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "duration_text.hpp"

namespace fetchpipe {

FixedHedging::FixedHedging(Options options) : options_(options) {
  if (options_.delay <= std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument(fmt::format("FixedHedging: delay must be > 0, got {}", detail::duration_text(options_.delay)));
  }
  if (options_.max_in_flight < 2 || options_.max_in_flight > 5) {
    throw std::invalid_argument(
        fmt::format("FixedHedging: max_in_flight must be 2..5, got {}", options_.max_in_flight));
  }
}

std::optional<std::chrono::nanoseconds> FixedHedging::hedge_delay(std::string_view) { return options_.delay; }

}  // namespace fetchpipe
