// fail_with_body.hpp — `--fail-with-body`: the body of a final non-2xx response is written too.
//
// The pipeline streams a body only for a response its retry policy accepts (is_success), so this
// wrapper also accepts a non-2xx status that is final whatever the attempt: not a redirect, and
// not a status the wrapped policy retries (unless there is one attempt only). The tool then
// reports the fetch as the HTTP failure it is (kind http_status, exit 3), with the body written.
//
// A retried status (503 by default) whose retries ran out cannot be accepted this way:
// is_success(status) runs on the client's shared prototype, not on the fetch's clone, and carries
// no attempt number, so the policy cannot tell the last attempt from the others. Its body comes
// from the failure instead (Error::response, kept up to error_body_limit()): final_error_body().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include <fetchpipe/error.hpp>

#include <fetchpipe/retry_policy.hpp>

#include "report.hpp"

namespace fetchpipe::cli {

class FailWithBodyPolicy final : public RetryPolicy {
 public:
  FailWithBodyPolicy(std::shared_ptr<const RetryPolicy> inner_prototype, std::set<int> retried_statuses,
                     int max_attempts);

  [[nodiscard]] RetryDecision decide(const RetryContext& context) override;
  [[nodiscard]] std::unique_ptr<RetryPolicy> clone() const override;
  [[nodiscard]] bool is_success(int status) const override;
  [[nodiscard]] std::optional<int> attempt_limit() const override { return max_attempts_; }

 private:
  std::shared_ptr<const RetryPolicy> prototype_;
  std::unique_ptr<RetryPolicy> inner_;  // this fetch's clone of the wrapped policy
  std::set<int> retried_statuses_;
  int max_attempts_;
};

// ClientOptions::error_body_limit with --fail-with-body: as much of a failed status's body as
// --max-body-size allows, at most 64 MiB (the library's cap); 16 MiB without --max-body-size.
[[nodiscard]] std::uint64_t fail_with_body_limit(const std::optional<std::uint64_t>& max_body_bytes);

// The body of the response a fetch failed on when that failure is an HTTP status (the last answer
// of a retried status), or nullopt.
[[nodiscard]] std::optional<std::string_view> final_error_body(const Error& error);

// A report of a "successful" fetch whose status is not 2xx (accepted by FailWithBodyPolicy)
// turned into the HTTP failure it is; anything else unchanged.
void fail_non_2xx(FetchReport& report, std::string_view method, std::string_view url);

}  // namespace fetchpipe::cli
