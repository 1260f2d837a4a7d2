#include "fetchpipe/circuit_breaker.hpp"

namespace fetchpipe {

std::string_view to_string(CircuitState state) noexcept {
  switch (state) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half_open";
  }
  return "unknown";
}

}  // namespace fetchpipe
