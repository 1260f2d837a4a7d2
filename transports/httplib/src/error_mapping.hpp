// Turns what cpp-httplib reports, plus our own bookkeeping, into an ExchangeResult.
//
// cpp-httplib 0.11 says Error::Read for a timeout, a reset, a truncated body and an interrupted
// call alike, and Error::Canceled for every handler that returned false. Only the transport knows
// which it was: the stop reason it recorded before interrupting, whether a socket was ever created
// (the name resolved), and the clocks. The mapping (first matching row wins):
//
//   recorded stop reason                 -> that reason, whatever httplib said:
//     cancelled, shutdown, consumer      -> cancelled
//     deadline                           -> attempt_timeout
//     connect_timeout                    -> connect_timeout
//     stall                              -> stall_timeout
//     body_limit                         -> body_too_large
//     observer_threw                     -> internal_error
//   Error::Connection, no socket created -> dns_failure     (getaddrinfo failed before socket())
//   Error::Connection                    -> connect_failure (refused, unreachable)
//   Error::BindIPAddress                 -> connect_failure
//   Error::ConnectionTimeout             -> connect_timeout
//   Error::SSLConnection                 -> connect_timeout if the connect clock ran out (only
//                                           cpp-httplib's backstop fired), else tls_failure
//   Error::SSLLoadingCerts               -> tls_failure     (CA file/path unreadable)
//   Error::SSLServerVerification         -> tls_failure     (chain or host name not trusted)
//   Error::Read / Write / Unknown        -> attempt_timeout if the deadline has passed,
//                                           stall_timeout if the stall clock ran out,
//                                           else connection_reset (reset, closed, truncated)
//   Error::Compression                   -> connection_reset (the body could not be decoded)
//   Error::Canceled without a reason     -> internal_error (our handlers always record one)
//   Error::ExceedRedirectCount,
//   Error::UnsupportedMultipartBoundaryChars,
//   anything newer                       -> internal_error (never expected: redirects are off,
//                                           no multipart is sent)
#pragma once

#include <string>
#include <string_view>

#include <httplib.h>

#include "exchange_state.hpp"

namespace fetchpipe::detail {

struct FailureFacts {
  httplib::Error error;
  StopReason stop_reason = StopReason::none;
  std::string stop_detail;
  bool socket_created = false;  // httplib created a socket during this exchange
  bool host_is_address = false; // the URL names an IP address: nothing was resolved
  bool deadline_passed = false;
  bool connect_elapsed = false; // the connect timeout has passed since the worker took it
  bool stall_elapsed = false;
  long tls_verify_result = 0;   // SSL_get_verify_result; X509_V_OK (0) unless a chain check failed
  std::string authority;        // host:port, for messages
};

// The result for an exchange that stopped for `reason` (never StopReason::none).
[[nodiscard]] ExchangeResult result_for_stop(StopReason reason, const std::string& detail);

// The result for an exchange that ended before a worker took it: cancelled (a recorded reason) or
// its deadline passed while every worker was busy.
[[nodiscard]] ExchangeResult result_while_queued(StopReason reason, const std::string& detail);

// The result for a failed httplib send (see the table above).
[[nodiscard]] ExchangeResult classify_failure(const FailureFacts& facts);

}  // namespace fetchpipe::detail
