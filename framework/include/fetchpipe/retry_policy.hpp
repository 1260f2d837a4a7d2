// fetchpipe/retry_policy.hpp — the decision "retry this outcome? after a server-set wait?".
//
// A RetryPolicy is a pure decision over one attempt's outcome. It does not wait, does not know
// about the deadline, and does not pick the backoff (a BackoffPolicy does); the pipeline applies
// the deadline to whatever wait results, so no policy can sleep into a dead deadline.
// The client keeps one policy as a prototype and clone()s it for a fetch when that fetch first
// needs a decision, so a policy may keep per-fetch state.
//
// Example:
//   class OnlyFiveHundreds : public fetchpipe::RetryPolicy {
//     fetchpipe::RetryDecision decide(const fetchpipe::RetryContext& c) override {
//       using fetchpipe::GiveUpReason, fetchpipe::RetryDecision;
//       if (c.status != 500) return RetryDecision::stop(GiveUpReason::not_retryable);
//       if (c.attempt >= 3) return RetryDecision::stop(GiveUpReason::attempts_exhausted);
//       return RetryDecision::again();  // after the BackoffPolicy's wait
//     }
//     std::unique_ptr<fetchpipe::RetryPolicy> clone() const override {
//       return std::make_unique<OnlyFiveHundreds>(*this);
//     }
//   };
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "fetchpipe/error.hpp"
#include "fetchpipe/headers.hpp"
#include "fetchpipe/request.hpp"

namespace fetchpipe {

// What the policy sees of a failed attempt. Exactly one of `error` and `status` describes it:
// a transport error (a response whose accepted body was cut counts as its error), or a response
// the client did not accept (its status decides even when its unwanted body was cut or dropped).
struct RetryContext {
  const Request* request = nullptr;         // the original request
  int attempt = 1;                          // the attempt that just ended, 1-based
  std::optional<ErrorKind> error{};         // the attempt's error, if it ended in one
  std::optional<int> status{};              // the status of the response not accepted, if it did not
  const Headers* response_headers = nullptr;  // that response's headers (null with `error`)
  // Redirects followed in this attempt before it ended. When > 0 the original request certainly
  // reached a server, whatever `error` says of the last hop: a non-idempotent request has left.
  int redirects = 0;
  std::chrono::system_clock::time_point system_now{};  // for HTTP-date Retry-After values
  // The request's own attempt limit (RequestOverrides::max_attempts), which replaces the policy's
  // when set. The pipeline stops at it whatever the policy says.
  std::optional<int> max_attempts{};
};

struct RetryDecision {
  bool retry = false;
  GiveUpReason reason = GiveUpReason::not_retryable;  // why not, when retry is false
  // A wait the server asked for (Retry-After), already capped by the policy; it replaces the
  // backoff for this retry.
  std::optional<std::chrono::nanoseconds> server_delay{};

  static RetryDecision again(std::optional<std::chrono::nanoseconds> server_delay = std::nullopt) {
    return RetryDecision{true, GiveUpReason::none, server_delay};
  }
  static RetryDecision stop(GiveUpReason why) { return RetryDecision{false, why, std::nullopt}; }
};

class RetryPolicy {
 public:
  virtual ~RetryPolicy() = default;
  [[nodiscard]] virtual RetryDecision decide(const RetryContext& context) = 0;
  [[nodiscard]] virtual std::unique_ptr<RetryPolicy> clone() const = 0;
  // Whether a complete response with this status ends the fetch successfully. Default: 2xx.
  [[nodiscard]] virtual bool is_success(int status) const { return status >= 200 && status < 300; }
  // The most attempts this policy ever allows a fetch, if it has such a limit. The pipeline starts
  // no hedge (hedging_policy.hpp) past it; retries are bounded by decide() itself. Default: none.
  [[nodiscard]] virtual std::optional<int> attempt_limit() const { return std::nullopt; }
};

}  // namespace fetchpipe
