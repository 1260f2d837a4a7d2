#include "fetchpipe/consecutive_failure_breaker.hpp"

#include <cmath>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "duration_text.hpp"
#include "origin_table.hpp"
#include "rolling_counts.hpp"

namespace fetchpipe {
namespace {

using std::chrono::nanoseconds;

constexpr int kCalls = 0;     // RollingCounts counter 0
constexpr int kFailures = 1;  // counter 1

struct OriginCircuit {
  CircuitState state = CircuitState::closed;
  int consecutive_failures = 0;
  detail::RollingCounts window;
  TimePoint open_until{};
  bool probe_out = false;  // half_open: the probe was handed out and has not reported yet
};

using Transition = CircuitTransition;

void validate(const ConsecutiveFailureBreaker::Options& o) {
  if (o.consecutive_failures < 0) {
    throw std::invalid_argument(fmt::format(
        "ConsecutiveFailureBreaker: consecutive_failures must be >= 0, got {}", o.consecutive_failures));
  }
  if (!(o.failure_ratio >= 0.0 && o.failure_ratio <= 1.0)) {  // also refuses NaN
    throw std::invalid_argument(
        fmt::format("ConsecutiveFailureBreaker: failure_ratio must be in [0, 1], got {}", o.failure_ratio));
  }
  if (o.consecutive_failures == 0 && o.failure_ratio == 0.0) {
    throw std::invalid_argument(
        "ConsecutiveFailureBreaker: consecutive_failures and failure_ratio are both 0: the circuit could never open");
  }
  if (o.minimum_calls < 1) {
    throw std::invalid_argument(
        fmt::format("ConsecutiveFailureBreaker: minimum_calls must be >= 1, got {}", o.minimum_calls));
  }
  if (o.window <= nanoseconds::zero()) {
    throw std::invalid_argument(
        fmt::format("ConsecutiveFailureBreaker: window must be > 0, got {}", detail::duration_text(o.window)));
  }
  if (o.open_for <= nanoseconds::zero()) {
    throw std::invalid_argument(
        fmt::format("ConsecutiveFailureBreaker: open_for must be > 0, got {}", detail::duration_text(o.open_for)));
  }
  if (o.max_origins < 1) {
    throw std::invalid_argument(
        fmt::format("ConsecutiveFailureBreaker: max_origins must be >= 1, got {}", o.max_origins));
  }
}

// now + d without overflowing past the clock's end.
TimePoint saturating_add(TimePoint now, nanoseconds d) noexcept {
  if (now > TimePoint::max() - d) return TimePoint::max();
  return now + d;
}

}  // namespace

struct ConsecutiveFailureBreaker::Impl {
  explicit Impl(std::size_t max_origins) : table(max_origins) {}
  detail::OriginTable<OriginCircuit> table;
};

ConsecutiveFailureBreaker::ConsecutiveFailureBreaker() : ConsecutiveFailureBreaker(Options{}) {}

ConsecutiveFailureBreaker::ConsecutiveFailureBreaker(Options options) : options_(std::move(options)) {
  validate(options_);
  impl_ = std::make_unique<Impl>(options_.max_origins);
}

ConsecutiveFailureBreaker::~ConsecutiveFailureBreaker() = default;

Admission ConsecutiveFailureBreaker::admit(std::string_view origin, TimePoint now) {
  std::optional<Transition> changed;
  Admission admission = impl_->table.with(origin, [&](OriginCircuit& c) -> Admission {
    switch (c.state) {
      case CircuitState::closed: return {Admission::Verdict::allowed, {}};
      case CircuitState::open:
        if (now < c.open_until) return {Admission::Verdict::rejected, c.open_until};
        c.state = CircuitState::half_open;
        c.probe_out = true;
        changed = Transition{CircuitState::open, CircuitState::half_open};
        return {Admission::Verdict::probe, {}};
      case CircuitState::half_open:
        if (!c.probe_out) {  // the last probe was abandoned: this caller probes instead
          c.probe_out = true;
          return {Admission::Verdict::probe, {}};
        }
        break;
    }
    return {Admission::Verdict::rejected, saturating_add(now, options_.open_for)};
  });
  // Outside the shard lock: the listener may call back into the breaker.
  if (changed) {
    admission.transition = *changed;
    if (options_.on_state_change) options_.on_state_change(origin, changed->from, changed->to);
  }
  return admission;
}

std::optional<CircuitTransition> ConsecutiveFailureBreaker::report(std::string_view origin, TimePoint now,
                                                                   AttemptOutcome outcome, bool was_probe) {
  const nanoseconds width = detail::RollingCounts::slot_width(options_.window);
  const std::int64_t slot = detail::slot_of(now, width);
  const auto open = [&](OriginCircuit& c) -> std::optional<Transition> {
    const CircuitState from = c.state;
    c.state = CircuitState::open;
    c.open_until = saturating_add(now, options_.open_for);
    return Transition{from, CircuitState::open};
  };
  const std::optional<Transition> changed =
      impl_->table.with(origin, [&](OriginCircuit& c) -> std::optional<Transition> {
        if (was_probe) {
          // Only the probe's report moves a half-open circuit; one for another state is stale.
          if (c.state != CircuitState::half_open || !c.probe_out) return std::nullopt;
          c.probe_out = false;
          switch (outcome) {
            case AttemptOutcome::success:
              c.state = CircuitState::closed;
              c.consecutive_failures = 0;
              c.window.clear();
              return Transition{CircuitState::half_open, CircuitState::closed};
            case AttemptOutcome::failure: return open(c);
            case AttemptOutcome::abandoned: return std::nullopt;  // the next admit probes
          }
          return std::nullopt;
        }
        // An attempt admitted while closed that ends after the circuit opened says nothing new.
        if (c.state != CircuitState::closed || outcome == AttemptOutcome::abandoned) return std::nullopt;
        if (outcome == AttemptOutcome::success) {
          c.consecutive_failures = 0;
          c.window.add(slot, kCalls);
          return std::nullopt;
        }
        ++c.consecutive_failures;
        c.window.add(slot, kCalls);
        c.window.add(slot, kFailures);
        if (options_.consecutive_failures > 0 && c.consecutive_failures >= options_.consecutive_failures) {
          return open(c);
        }
        if (options_.failure_ratio > 0.0) {
          const auto [calls, failures] = c.window.sum(slot);
          if (calls >= static_cast<std::uint64_t>(options_.minimum_calls) &&
              static_cast<double>(failures) >= options_.failure_ratio * static_cast<double>(calls)) {
            return open(c);
          }
        }
        return std::nullopt;
      });
  if (changed && options_.on_state_change) options_.on_state_change(origin, changed->from, changed->to);
  return changed;
}

CircuitState ConsecutiveFailureBreaker::state(std::string_view origin) {
  return impl_->table.with(origin, [](OriginCircuit& c) { return c.state; });
}

std::size_t ConsecutiveFailureBreaker::tracked_origins() const { return impl_->table.size(); }

}  // namespace fetchpipe
