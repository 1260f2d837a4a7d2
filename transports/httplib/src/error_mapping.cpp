#include "error_mapping.hpp"

#include <fmt/format.h>
#include <openssl/x509.h>

namespace fetchpipe::detail {
namespace {

ExchangeResult failed(ErrorKind kind, std::string message) {
  return ExchangeResult{.error = kind, .message = std::move(message)};
}

std::string httplib_words(httplib::Error error) {
  return fmt::format("cpp-httplib Error::{}", httplib::to_string(error));
}

// Error::Read and Error::Write: the clocks tell a timeout from a broken connection when the
// watchdog did not get to record it first (cpp-httplib's own backstop timeout fired).
ExchangeResult classify_io(const FailureFacts& f) {
  const char* what = f.error == httplib::Error::Write ? "sending the request" : "receiving the response";
  if (f.deadline_passed) {
    return failed(ErrorKind::attempt_timeout,
                  fmt::format("exchange deadline passed while {} ({})", what, httplib_words(f.error)));
  }
  if (f.stall_elapsed) {
    return failed(ErrorKind::stall_timeout,
                  fmt::format("no data for the stall timeout while {} ({})", what,
                              httplib_words(f.error)));
  }
  return failed(ErrorKind::connection_reset,
                fmt::format("connection reset or closed while {} ({})", what, httplib_words(f.error)));
}

ExchangeResult classify_tls(const FailureFacts& f) {
  switch (f.error) {
    case httplib::Error::SSLLoadingCerts:
      return failed(ErrorKind::tls_failure,
                    fmt::format("could not load the trusted CA certificates ({})",
                                httplib_words(f.error)));
    case httplib::Error::SSLServerVerification:
      // cpp-httplib checks the host name only after the chain verified, so a good chain result
      // means the name did not match.
      if (f.tls_verify_result != X509_V_OK) {
        return failed(ErrorKind::tls_failure,
                      fmt::format("server certificate not trusted: {} ({})",
                                  X509_verify_cert_error_string(f.tls_verify_result),
                                  httplib_words(f.error)));
      }
      return failed(ErrorKind::tls_failure,
                    fmt::format("server certificate does not match '{}' ({})", f.authority,
                                httplib_words(f.error)));
    default:
      return failed(ErrorKind::tls_failure,
                    fmt::format("TLS handshake with '{}' failed ({})", f.authority, httplib_words(f.error)));
  }
}

}  // namespace

ExchangeResult result_for_stop(StopReason reason, const std::string& detail) {
  switch (reason) {
    case StopReason::cancelled:
      return failed(ErrorKind::cancelled, "exchange cancelled");
    case StopReason::shutdown:
      return failed(ErrorKind::cancelled, "exchange cancelled: the httplib transport was destroyed");
    case StopReason::consumer:
      return failed(ErrorKind::cancelled, "exchange stopped: the body consumer asked to stop");
    case StopReason::deadline:
      return failed(ErrorKind::attempt_timeout, "exchange deadline passed");
    case StopReason::connect_timeout:
      return failed(ErrorKind::connect_timeout,
                    "connect timeout: resolving, connecting and the TLS handshake did not finish in time");
    case StopReason::stall:
      return failed(ErrorKind::stall_timeout, "no response byte arrived for the stall timeout after the request was sent");
    case StopReason::body_limit:
      return failed(ErrorKind::body_too_large, detail);
    case StopReason::head_too_large:
    case StopReason::bad_encoding:        // as libcurl's BAD_CONTENT_ENCODING on the curl transport
    case StopReason::unreadable_interim:  // an invalid response, as the other interims httplib cannot read
      return failed(ErrorKind::connection_reset, detail);
    case StopReason::unfaithful_head:
      return failed(ErrorKind::connection_reset,
                    fmt::format("response head refused: {}; cpp-httplib 0.11 percent-decodes "
                                "header values, and a decoded value is never delivered",
                                detail));
    case StopReason::observer_threw:
      return failed(ErrorKind::internal_error, fmt::format("exchange observer threw: {}", detail));
    case StopReason::none:
      break;
  }
  return failed(ErrorKind::internal_error, "exchange stopped for no recorded reason");
}

ExchangeResult result_while_queued(StopReason reason, const std::string& detail) {
  if (reason != StopReason::none) return result_for_stop(reason, detail);
  return failed(ErrorKind::attempt_timeout,
                "exchange deadline passed while waiting for a free httplib worker");
}

ExchangeResult classify_failure(const FailureFacts& f) {
  if (f.stop_reason != StopReason::none) return result_for_stop(f.stop_reason, f.stop_detail);
  switch (f.error) {
    case httplib::Error::Connection:
      // cpp-httplib creates a socket only for an address getaddrinfo returned; when the URL names
      // an address there was nothing to resolve, so no socket means socket() itself failed
      // (out of descriptors, say).
      if (!f.socket_created && !f.host_is_address) {
        return failed(ErrorKind::dns_failure, fmt::format("could not resolve host '{}' ({})",
                                                          f.authority, httplib_words(f.error)));
      }
      return failed(ErrorKind::connect_failure, fmt::format("could not connect to '{}' ({})", f.authority,
                                                            httplib_words(f.error)));
    case httplib::Error::BindIPAddress:
      return failed(ErrorKind::connect_failure,
                    fmt::format("could not bind the local address ({})", httplib_words(f.error)));
    case httplib::Error::ConnectionTimeout:
      return failed(ErrorKind::connect_timeout,
                    fmt::format("connect to '{}' timed out ({})", f.authority, httplib_words(f.error)));
    case httplib::Error::SSLConnection:
      if (f.connect_elapsed) {
        return failed(ErrorKind::connect_timeout, fmt::format("TLS handshake with '{}' timed out ({})",
                                                              f.authority, httplib_words(f.error)));
      }
      return classify_tls(f);
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return classify_tls(f);
    case httplib::Error::Read:
    case httplib::Error::Write:
    case httplib::Error::Unknown:
      return classify_io(f);
    case httplib::Error::Compression:
      return failed(ErrorKind::connection_reset,
                    fmt::format("the response body could not be decoded ({})", httplib_words(f.error)));
    case httplib::Error::Canceled:
    case httplib::Error::Success:
    case httplib::Error::ExceedRedirectCount:
    case httplib::Error::UnsupportedMultipartBoundaryChars:
      break;
  }
  return failed(ErrorKind::internal_error,
                fmt::format("unexpected failure ({})", httplib_words(f.error)));
}

}  // namespace fetchpipe::detail
