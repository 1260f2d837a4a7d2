#include "fetchpipe/policies/default_retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "duration_text.hpp"
#include "fetchpipe/policies/retry_after.hpp"

namespace fetchpipe {
namespace {

constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;

void validate(const DefaultRetryPolicy::Options& o) {
  if (o.max_attempts < 1) {
    throw std::invalid_argument(
        fmt::format("DefaultRetryPolicy: max_attempts must be >= 1, got {}", o.max_attempts));
  }
  for (const int status : o.retry_on_statuses) {
    if (status < kMinStatus || status > kMaxStatus) {
      throw std::invalid_argument(fmt::format(
          "DefaultRetryPolicy: retry_on_statuses must hold codes in {}..{}, got {}", kMinStatus,
          kMaxStatus, status));
    }
  }
  if (o.accept_statuses) {
    if (o.accept_statuses->empty()) {
      throw std::invalid_argument(
          "DefaultRetryPolicy: accept_statuses must hold at least one code (or be unset for any 2xx), got none");
    }
    for (const int status : *o.accept_statuses) {
      if (status < kMinStatus || status > kMaxStatus) {
        throw std::invalid_argument(fmt::format(
            "DefaultRetryPolicy: accept_statuses must hold codes in {}..{}, got {}", kMinStatus, kMaxStatus, status));
      }
    }
  }
  for (const ErrorKind kind : o.retry_on_errors) {
    // These end a fetch by definition: retrying them would resend an invalid request, sleep past
    // the deadline, or ignore the caller.
    if (kind == ErrorKind::invalid_request || kind == ErrorKind::deadline_exceeded ||
        kind == ErrorKind::cancelled) {
      throw std::invalid_argument(fmt::format(
          "DefaultRetryPolicy: retry_on_errors cannot hold {} (it is never retried)", to_string(kind)));
    }
  }
  if (o.retry_after_max < std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument(fmt::format("DefaultRetryPolicy: retry_after_max must be >= 0, got {}",
                                            detail::duration_text(o.retry_after_max)));
  }
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

DefaultRetryPolicy::DefaultRetryPolicy() : DefaultRetryPolicy(Options{}) {}

DefaultRetryPolicy::DefaultRetryPolicy(Options options) {
  validate(options);
  options_ = std::make_shared<const Options>(std::move(options));
}

bool DefaultRetryPolicy::is_success(int status) const {
  if (options_->accept_statuses) return options_->accept_statuses->contains(status);
  return RetryPolicy::is_success(status);
}

RetryDecision DefaultRetryPolicy::decide(const RetryContext& context) {
  // 1. Is this outcome retryable at all? Checked first so that an outcome the policy would never
  //    retry reports not_retryable even on the last attempt: "a 404" explains more than "out of
  //    attempts", and the reason stays the same whatever max_attempts is.
  const bool retryable_error = context.error && options_->retry_on_errors.contains(*context.error);
  const bool retryable_status =
      context.status && options_->retry_on_statuses.contains(*context.status);
  if (!retryable_error && !retryable_status) return RetryDecision::stop(GiveUpReason::not_retryable);

  // 2. Any attempts left?
  if (context.attempt >= context.max_attempts.value_or(options_->max_attempts)) {
    return RetryDecision::stop(GiveUpReason::attempts_exhausted);
  }

  // 3. May the request be sent again? A missing request is treated as non-idempotent: when in
  //    doubt, do not risk a duplicate side effect.
  const bool idempotent = context.request != nullptr && context.request->is_idempotent();
  // A redirect answered earlier in the attempt proves the request left, whatever the last hop's
  // error says: a POST answered with 303 must not be sent again because the 303's target is down.
  const bool never_left = context.error && request_never_left(*context.error) && context.redirects == 0;
  if (!idempotent && !never_left && !options_->retry_non_idempotent) {
    return RetryDecision::stop(GiveUpReason::non_idempotent);
  }

  // 4. Did the server say when? Only a response can carry Retry-After; a value that does not
  //    parse is ignored and the backoff applies, as RFC 9110 leaves it to the client.
  std::optional<std::chrono::nanoseconds> server_delay;
  if (options_->honor_retry_after && context.status && context.response_headers != nullptr) {
    if (const auto value = context.response_headers->get("Retry-After")) {
      if (const auto wait = parse_retry_after(*value, context.system_now)) {
        server_delay = std::min(*wait, options_->retry_after_max);
      }
    }
  }
  return RetryDecision::again(server_delay);
}

std::unique_ptr<RetryPolicy> DefaultRetryPolicy::clone() const {
  return std::make_unique<DefaultRetryPolicy>(*this);
}

void parse_retry_on(std::string_view list, DefaultRetryPolicy::Options& options) {
  constexpr std::string_view kExpected = "expected a status code, 5xx, connect, reset or timeout";
  if (trim_ows(list).empty()) {
    throw std::invalid_argument(fmt::format("--retry-on: empty list ({})", kExpected));
  }
  std::set<int> statuses;
  std::set<ErrorKind> errors;
  std::string_view rest = list;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_ows(rest.substr(0, comma));
    if (item.empty()) {
      throw std::invalid_argument(
          fmt::format("--retry-on: empty item in '{}' ({})", list, kExpected));
    }
    if (item == "connect") {
      errors.insert({ErrorKind::dns_failure, ErrorKind::connect_failure, ErrorKind::connect_timeout});
    } else if (item == "reset") {
      errors.insert(ErrorKind::connection_reset);
    } else if (item == "timeout") {
      errors.insert({ErrorKind::attempt_timeout, ErrorKind::stall_timeout});
    } else if (item == "5xx") {
      for (int s = 500; s <= 599; ++s) statuses.insert(s);
    } else if (all_digits(item)) {
      int status = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), status);
      if (ec != std::errc{} || end != item.data() + item.size() || status < kMinStatus ||
          status > kMaxStatus) {
        throw std::invalid_argument(fmt::format(
            "--retry-on: status code '{}' out of range (expected {}..{})", item, kMinStatus, kMaxStatus));
      }
      statuses.insert(status);
    } else {
      throw std::invalid_argument(fmt::format("--retry-on: unknown item '{}' ({})", item, kExpected));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  // Only now, so a bad list leaves `options` untouched.
  options.retry_on_statuses = std::move(statuses);
  options.retry_on_errors = std::move(errors);
}

}  // namespace fetchpipe
