// fetchpipe/policies/default_retry_policy.hpp — the default retry rules (docs/design.md), configurable.
//
// Retries an attempt when all of these hold, checked in this order (the first that fails gives
// the reason reported):
//   1. its error kind is in `retry_on_errors`, or its status is in `retry_on_statuses`
//      (else reason not_retryable);
//   2. fewer than `max_attempts` attempts were made (else reason attempts_exhausted);
//   3. the request is idempotent (RFC 9110 method or an Idempotency-Key header), or the error
//      proves the request never left (DNS, connect failure, connect timeout, TLS handshake) and
//      no redirect was followed in the attempt (a redirect is an answer: the request left), or
//      `retry_non_idempotent` is set (else reason non_idempotent). A context without a request
//      counts as non-idempotent. (tls_failure is not in the default `retry_on_errors`, so by
//      default a TLS failure is not retried for any method: rule 1 stops it.)
// The order is deliberate: an outcome the policy never retries (a 404, a TLS failure) reports
// not_retryable even on the last attempt, so the reason does not depend on max_attempts; and
// running out of attempts is reported before idempotency, since no retry was left to refuse.
// When a retried response carries Retry-After and `honor_retry_after` is set, its value, capped at
// `retry_after_max`, replaces the backoff for that retry; a value that does not parse is ignored
// (the backoff applies). (The pipeline then refuses any wait that
// would cross the overall deadline.)
//
// Example:
//   fetchpipe::DefaultRetryPolicy policy({.max_attempts = 5, .retry_on_statuses = {503}});
//   fetchpipe::DefaultRetryPolicy::Options lenient;
//   lenient.accept_statuses = std::set<int>{200, 404};  // a 404 is a Response, not an Error
//   fetchpipe::DefaultRetryPolicy accepting_404(lenient);
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "fetchpipe/retry_policy.hpp"

namespace fetchpipe {

class DefaultRetryPolicy final : public RetryPolicy {
 public:
  struct Options {
    int max_attempts = 4;  // attempts including the first; >= 1
    std::set<int> retry_on_statuses{408, 429, 500, 502, 503, 504};  // each 100..599
    std::set<ErrorKind> retry_on_errors{ErrorKind::dns_failure,      ErrorKind::connect_failure,
                                        ErrorKind::connect_timeout,  ErrorKind::connection_reset,
                                        ErrorKind::attempt_timeout,  ErrorKind::stall_timeout};
    bool retry_non_idempotent = false;
    bool honor_retry_after = true;
    std::chrono::nanoseconds retry_after_max{std::chrono::seconds{60}};  // >= 0
    // The statuses a complete final response may have to end the fetch successfully; nullopt
    // (the default) means any 2xx. Non-empty, each 100..599. An accepted status is a success
    // even when it is also in retry_on_statuses (it never reaches decide()). Example: {200, 404}
    // reads a 404's body as a Response instead of failing with http_status.
    std::optional<std::set<int>> accept_statuses{};
  };

  DefaultRetryPolicy();  // the defaults above
  // Throws std::invalid_argument naming the field and value when an option is out of range
  // (max_attempts < 1, a status outside 100..599, a negative retry_after_max, an error kind that
  // can never be retried: invalid_request, deadline_exceeded, cancelled).
  explicit DefaultRetryPolicy(Options options);

  [[nodiscard]] RetryDecision decide(const RetryContext& context) override;
  [[nodiscard]] std::unique_ptr<RetryPolicy> clone() const override;
  [[nodiscard]] bool is_success(int status) const override;
  [[nodiscard]] std::optional<int> attempt_limit() const override { return options_->max_attempts; }
  [[nodiscard]] const Options& options() const noexcept { return *options_; }

 private:
  // Validated once and never changed, so clones (one per fetch that fails) share it: cloning
  // copies no sets.
  std::shared_ptr<const Options> options_;
};

// Parses a comma-separated list in the CLI's `--retry-on` form: status codes (e.g. 503), `5xx`
// (every code 500..599), `connect` (DNS failure, connect failure, connect timeout), `reset`
// (connection reset), `timeout` (attempt and stall timeouts). Writes into `options`' two sets
// (replacing them, and only when the whole list is valid). Items are trimmed of spaces and tabs.
// Throws std::invalid_argument naming the bad item for an empty list, an empty item, a status
// outside 100..599 or an unknown word.
void parse_retry_on(std::string_view list, DefaultRetryPolicy::Options& options);

}  // namespace fetchpipe
