// fetchpipe/retry_budget.hpp — the limit on how much extra load retries and hedges may add to an
// origin, shared by every fetch (and every client) that holds the same budget object.
//
// The pipeline calls record_request() when a fetch's first attempt goes to an origin, and
// try_spend() before each retry or hedge to that origin: false means "refused", and the fetch ends
// with its last outcome and reason `budget_exhausted`. The origin is the key Url::origin() gives
// ("https://host:443"); time is the Scheduler's now(), passed in, so a budget never reads a clock
// and tests run in virtual time. Implementations must be thread-safe: one budget is shared by all
// fetches of a client, and may be shared between clients.
// fetchpipe/token_retry_budget.hpp is the default implementation (Finagle's 20 % + 10/s over 10 s).
//
// Example:
//   // Allows every retry: what "no budget" means (--no-retry-budget).
//   struct Unlimited : fetchpipe::RetryBudget {
//     void record_request(std::string_view, fetchpipe::TimePoint) override {}
//     bool try_spend(std::string_view, fetchpipe::TimePoint) override { return true; }
//   };
//   auto url = fetchpipe::Url::parse("http://127.0.0.1:8080/a");
//   Unlimited budget;
//   budget.record_request(url->origin(), fetchpipe::Clock::now());
#pragma once

#include <memory>
#include <string_view>

#include "fetchpipe/scheduler.hpp"

namespace fetchpipe {

class RetryBudget {
 public:
  virtual ~RetryBudget() = default;

  // A fetch's first attempt was sent to `origin` at `now`: it earns the origin retry allowance.
  virtual void record_request(std::string_view origin, TimePoint now) = 0;

  // Asks to send a retry or a hedge to `origin` at `now`. True: allowed, and one unit of the
  // allowance was spent. False: refused; nothing was spent.
  [[nodiscard]] virtual bool try_spend(std::string_view origin, TimePoint now) = 0;
};

// A budget that allows every retry: what "no budget" means (ClientOptions::retry_budget,
// the CLI's --no-retry-budget). One shared object; thread-safe (it keeps nothing).
[[nodiscard]] std::shared_ptr<RetryBudget> no_retry_budget();

}  // namespace fetchpipe
