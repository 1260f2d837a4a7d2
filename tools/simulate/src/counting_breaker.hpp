// counting_breaker.hpp — a CircuitBreaker that forwards to the library's breaker and counts what
// it decides, so the simulator can report openings, probes and rejections without a second
// implementation of the state machine.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <fetchpipe/consecutive_failure_breaker.hpp>

namespace fetchpipe::simulate {

class CountingBreaker final : public CircuitBreaker {
 public:
  explicit CountingBreaker(const ConsecutiveFailureBreaker::Options& options) : inner_(options) {}

  [[nodiscard]] Admission admit(std::string_view origin, TimePoint now) override {
    const Admission a = inner_.admit(origin, now);
    std::lock_guard lock(mutex_);
    if (a.transition) note(*a.transition, now);
    if (a.verdict == Admission::Verdict::probe) {
      ++probes_;
      max_probes_per_open_ = std::max(max_probes_per_open_, ++probes_this_open_);
    } else if (a.verdict == Admission::Verdict::rejected) {
      ++rejections_;
    }
    return a;
  }

  std::optional<CircuitTransition> report(std::string_view origin, TimePoint now, AttemptOutcome outcome,
                                          bool was_probe) override {
    const auto t = inner_.report(origin, now, outcome, was_probe);
    if (t) {
      std::lock_guard lock(mutex_);
      note(*t, now);
    }
    return t;
  }

  struct Tally {
    std::uint64_t openings = 0;
    std::uint64_t probes = 0;
    std::uint64_t rejections = 0;
    std::uint64_t max_probes_per_open = 0;
    std::vector<TimePoint> closes;  // when it went back to closed
    CircuitState state = CircuitState::closed;
  };
  [[nodiscard]] Tally tally() const {
    std::lock_guard lock(mutex_);
    return Tally{openings_, probes_, rejections_, max_probes_per_open_, closes_, state_};
  }

 private:
  void note(const CircuitTransition& t, TimePoint now) {
    state_ = t.to;
    if (t.to == CircuitState::open) {
      ++openings_;
      probes_this_open_ = 0;  // a new open interval
    } else if (t.to == CircuitState::closed) {
      closes_.push_back(now);
    }
  }

  ConsecutiveFailureBreaker inner_;
  mutable std::mutex mutex_;
  std::uint64_t openings_ = 0, probes_ = 0, rejections_ = 0, max_probes_per_open_ = 0, probes_this_open_ = 0;
  std::vector<TimePoint> closes_;
  CircuitState state_ = CircuitState::closed;
};

}  // namespace fetchpipe::simulate
