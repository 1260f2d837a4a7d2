// fetchpipe/token_retry_budget.hpp — the default retry budget: per origin, retries may
// add at most `ratio` of the requests of the last `window`, plus `min_per_second` per second
// (Finagle's RetryBudget numbers, as Linkerd and tower use them), where the floor is drawn first
// and counts against the ratio: under real traffic the floor is part of the ratio's allowance.
//
// Parameters (defaults):
//   ratio            0.2    extra retries per recorded request, in [0, 1000]; kept to 1/1000
//   window           10 s   how long a request (and a retry) counts; > 0
//   min_per_second   10     retries allowed per second whatever the traffic; >= 0
//   max_origins      4096   origins tracked at once; >= 1
//   failure_throttle true   shrink the allowance when the failures outrun it (below)
// The algorithm, per origin:
//   - Time is cut into 10 slots of window/10 (at least 1 ns). record_request(t) adds 1 to the
//     requests of t's slot. A count belongs to the window while its slot is one of the 10 most
//     recent at the time of the question: a request older than `window` never counts, one
//     younger than 9/10 of it always does.
//   - try_spend(t) first draws on the floor: up to `min_per_second` retries in each second
//     [k s, (k+1) s) of the clock's epoch. Past the floor it draws on the ratio: allowed when
//     (retries in the window + 1) <= ratio * (requests in the window), and t's slot has spent
//     fewer than ratio * (the requests of that slot, or of an average slot of the window if
//     more), rounded up: paced, so the allowance a window earned is not spent in one burst the
//     moment an outage starts. Every allowed retry, the floor's included, is counted in t's slot
//     and expires with the window like a request.
//   - The failure throttle (in the spirit of gRPC's retry throttling and of client-side adaptive
//     throttling, fed by what a budget sees): every call of try_spend is a failed attempt asking
//     for a retry, and is counted in the window as an ask, allowed or not. The window's
//     allowance is L = max(ratio * requests, min_per_second * window in seconds). While the asks
//     A of the window are at most L, nothing above changes: every failure the budget can pay for
//     is paid as before. When A > L the origin fails more than retries can mend, and each part of
//     the allowance — the floor per second, the ratio over the window, the pace per slot — is
//     scaled by L / A. So with every request failing once, retries fall from `ratio` of the
//     requests to ratio * ratio of them (20 % to 4 %), and fall further the more each retry fails
//     again; once the failures leave the window the full allowance is back.
//   - Refusing spends nothing (it counts the ask). So with no traffic exactly min_per_second
//     retries per second pass (a lone fetch and light traffic — at most min_per_second failures
//     a second — are never refused); after N requests within the window, retries in it reach
//     N * ratio (rounded down), of which the floor's are a part, as long as the failures asking
//     for them are no more than that.
// Invariant: over any window, retries allowed <= max(ratio * requests recorded in it (to within
// one slot), min_per_second per second of it) <= the ratio's share plus the floor. So an outage
// seen by a busy fleet costs its origin about 1 + ratio times the normal load (1 + ratio^2 with
// the throttle), not 1 + ratio plus the floor of every client; and an overloaded origin is not
// kept above its capacity by the retries of the failures it causes.
// A hedge asked through try_spend counts as an ask like a failure: hedges sent for a few slow
// answers stay far below the allowance; a caller hedging more than `ratio` of its requests is
// throttled as if they failed.
// Requests are the caller's to record: first attempts only.
// Time points come from the caller and need not be strictly ordered between threads: a count for
// a slot the ring has already left behind is dropped, a second earlier than the floor's current
// one is charged to the current one.
// Memory: at most max_origins origins, in up to 16 shards each holding max_origins / shards; a
// new origin in a full shard replaces its least recently used origin, whose counts are forgotten
// (it starts with the floor only). Thread-safe: one mutex per shard, none global; a known origin
// costs a hash, a short probe and no allocation.
//
// Example:
//   auto budget = std::make_shared<fetchpipe::TokenRetryBudget>(
//       fetchpipe::TokenRetryBudget::Options{.ratio = 0.1, .min_per_second = 5});
//   const auto now = fetchpipe::Clock::now();
//   budget->record_request("http://127.0.0.1:8080", now);
//   if (!budget->try_spend("http://127.0.0.1:8080", now)) std::puts("retry refused");
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fetchpipe/retry_budget.hpp"

namespace fetchpipe {

class TokenRetryBudget final : public RetryBudget {
 public:
  struct Options {
    double ratio = 0.2;
    std::chrono::nanoseconds window{std::chrono::seconds{10}};
    int min_per_second = 10;
    std::size_t max_origins = 4096;
    bool failure_throttle = true;
  };

  TokenRetryBudget();  // the defaults above
  // Throws std::invalid_argument naming the field and value when an option is out of range.
  explicit TokenRetryBudget(Options options);
  ~TokenRetryBudget() override;
  TokenRetryBudget(const TokenRetryBudget&) = delete;
  TokenRetryBudget& operator=(const TokenRetryBudget&) = delete;

  void record_request(std::string_view origin, TimePoint now) override;
  [[nodiscard]] bool try_spend(std::string_view origin, TimePoint now) override;

  [[nodiscard]] const Options& options() const noexcept { return options_; }
  // Origins currently tracked; never more than max_origins.
  [[nodiscard]] std::size_t tracked_origins() const;

 private:
  struct Impl;
  Options options_;
  std::int64_t ratio_milli_ = 0;  // ratio * 1000, so the allowance is exact integer arithmetic
  std::int64_t floor_window_milli_ = 0;  // min_per_second * window in seconds, * 1000
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetchpipe
