#include "fetchpipe/events.hpp"

namespace fetchpipe {

std::string_view to_string(FetchOutcome outcome) noexcept {
  switch (outcome) {
    case FetchOutcome::success: return "success";
    case FetchOutcome::failure: return "failure";
    case FetchOutcome::cancelled: return "cancelled";
  }
  return "unknown";
}

}  // namespace fetchpipe
