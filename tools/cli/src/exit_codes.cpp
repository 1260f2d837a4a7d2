#include "exit_codes.hpp"

namespace fetchpipe::cli {

ExitCode exit_code_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_request: return kExitUsage;
    case ErrorKind::http_status:
    case ErrorKind::too_many_redirects: return kExitHttp;
    case ErrorKind::dns_failure:
    case ErrorKind::connect_failure:
    case ErrorKind::tls_failure:
    case ErrorKind::circuit_open:  // CLI.md: "not sent, because the origin's circuit breaker is open; exit 4"
    case ErrorKind::connection_reset: return kExitTransport;
    case ErrorKind::connect_timeout:
    case ErrorKind::attempt_timeout:
    case ErrorKind::stall_timeout:
    case ErrorKind::deadline_exceeded: return kExitTimeout;
    case ErrorKind::body_too_large: return kExitBodyTooLarge;
    case ErrorKind::cancelled: return kExitCancelled;
    // docs/cli.md has no code of its own for "the library or the machine failed" (a transport refusing
    // work, descriptors or memory running out, stdout closed under us). 4 groups it with the
    // failures below HTTP: the fetch did not complete for a reason that is not the server's answer
    // and not a timeout, and a script that retries on 4 is right to retry it. A new code would
    // break scripts that treat the documented set as complete.
    case ErrorKind::internal_error: return kExitTransport;
  }
  return kExitTransport;
}

}  // namespace fetchpipe::cli
