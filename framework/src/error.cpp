#include "fetchpipe/error.hpp"

#include <array>
#include <utility>

namespace fetchpipe {
namespace {

constexpr std::array<std::pair<ErrorKind, std::string_view>, 15> kKindNames{{
    {ErrorKind::invalid_request, "invalid_request"},
    {ErrorKind::dns_failure, "dns_failure"},
    {ErrorKind::connect_failure, "connect_failure"},
    {ErrorKind::connect_timeout, "connect_timeout"},
    {ErrorKind::tls_failure, "tls_failure"},
    {ErrorKind::connection_reset, "connection_reset"},
    {ErrorKind::attempt_timeout, "attempt_timeout"},
    {ErrorKind::stall_timeout, "stall_timeout"},
    {ErrorKind::deadline_exceeded, "deadline_exceeded"},
    {ErrorKind::http_status, "http_status"},
    {ErrorKind::body_too_large, "body_too_large"},
    {ErrorKind::too_many_redirects, "too_many_redirects"},
    {ErrorKind::cancelled, "cancelled"},
    {ErrorKind::internal_error, "internal_error"},
    {ErrorKind::circuit_open, "circuit_open"},
}};

}  // namespace

std::string_view to_string(ErrorKind kind) noexcept {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<ErrorKind> error_kind_from_string(std::string_view name) noexcept {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view to_string(GiveUpReason reason) noexcept {
  switch (reason) {
    case GiveUpReason::none: return "none";
    case GiveUpReason::not_retryable: return "not_retryable";
    case GiveUpReason::attempts_exhausted: return "attempts_exhausted";
    case GiveUpReason::deadline: return "deadline";
    case GiveUpReason::non_idempotent: return "non_idempotent";
    case GiveUpReason::committed: return "committed";
    case GiveUpReason::cancelled: return "cancelled";
    case GiveUpReason::budget_exhausted: return "budget_exhausted";
    case GiveUpReason::circuit_open: return "circuit_open";
  }
  return "unknown";
}

bool request_never_left(ErrorKind kind) noexcept {
  // A TLS failure is a handshake failure: the request is only written after the handshake.
  return kind == ErrorKind::dns_failure || kind == ErrorKind::connect_failure ||
         kind == ErrorKind::connect_timeout || kind == ErrorKind::tls_failure ||
         kind == ErrorKind::invalid_request || kind == ErrorKind::circuit_open;
}

}  // namespace fetchpipe
