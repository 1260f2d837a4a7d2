// exit_codes.hpp — the process exit codes of docs/cli.md, and how an error kind maps onto them.
#pragma once

#include <fetchpipe/error.hpp>

namespace fetchpipe::cli {

enum ExitCode : int {
  kExitSuccess = 0,       // final status 2xx (and every command that ran to its end)
  kExitUsage = 2,         // usage error or invalid input; no request was sent
  kExitHttp = 3,          // final status not 2xx, or too many redirects
  kExitTransport = 4,     // DNS, connect, reset, TLS (and internal errors: see exit_code_for)
  kExitTimeout = 5,       // deadline, connect timeout, last attempt timed out or stalled
  kExitBodyTooLarge = 6,  // body larger than --max-body-size
  kExitCancelled = 130,   // SIGINT or SIGTERM (128 + SIGINT, what shells report for ^C)
};

// The exit code for a fetch that ended with `kind`.
[[nodiscard]] ExitCode exit_code_for(ErrorKind kind) noexcept;

}  // namespace fetchpipe::cli
