#include "fail_with_body.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fetchpipe::cli {

FailWithBodyPolicy::FailWithBodyPolicy(std::shared_ptr<const RetryPolicy> inner_prototype,
                                       std::set<int> retried_statuses, int max_attempts)
    : prototype_(std::move(inner_prototype)),
      inner_(prototype_->clone()),
      retried_statuses_(std::move(retried_statuses)),
      max_attempts_(max_attempts) {}

RetryDecision FailWithBodyPolicy::decide(const RetryContext& context) { return inner_->decide(context); }

std::unique_ptr<RetryPolicy> FailWithBodyPolicy::clone() const {
  return std::make_unique<FailWithBodyPolicy>(prototype_, retried_statuses_, max_attempts_);
}

bool FailWithBodyPolicy::is_success(int status) const {
  if (inner_->is_success(status)) return true;
  if (status >= 300 && status < 400) return false;  // a redirect the pipeline follows
  // A status the policy retries is not final (unless no retry is allowed at all).
  return retried_statuses_.count(status) == 0 || max_attempts_ <= 1;
}

std::uint64_t fail_with_body_limit(const std::optional<std::uint64_t>& max_body_bytes) {
  constexpr std::uint64_t kCap = 64ULL << 20;
  constexpr std::uint64_t kDefault = 16ULL << 20;
  return max_body_bytes ? std::min(*max_body_bytes, kCap) : kDefault;
}

std::optional<std::string_view> final_error_body(const Error& error) {
  if (error.kind != ErrorKind::http_status || !error.response) return std::nullopt;
  return std::string_view(error.response->body);
}

void fail_non_2xx(FetchReport& report, std::string_view method, std::string_view url) {
  if (report.outcome != FetchReport::Outcome::success || !report.status) return;
  if (*report.status >= 200 && *report.status < 300) return;
  report.outcome = FetchReport::Outcome::failure;
  report.error_kind = std::string(to_string(ErrorKind::http_status));
  report.error_message = fmt::format("{} {}: HTTP {} (body written: --fail-with-body) ({} attempt{})", method, url,
                                     *report.status, report.attempts.size(), report.attempts.size() == 1 ? "" : "s");
  report.reason = report.attempts.size() > 1 ? GiveUpReason::attempts_exhausted : GiveUpReason::not_retryable;
}

}  // namespace fetchpipe::cli
