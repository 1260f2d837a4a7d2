#include "fetchpipe/retry_budget.hpp"

namespace fetchpipe {
namespace {

class NoRetryBudget final : public RetryBudget {
 public:
  void record_request(std::string_view, TimePoint) override {}
  bool try_spend(std::string_view, TimePoint) override { return true; }
};

}  // namespace

std::shared_ptr<RetryBudget> no_retry_budget() {
  static const std::shared_ptr<RetryBudget> budget = std::make_shared<NoRetryBudget>();
  return budget;
}

}  // namespace fetchpipe
