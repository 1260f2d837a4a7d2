// report.hpp — what `get` tells the user about a fetch: the `--json` object (docs/cli.md) and the
// `-v` line per attempt.
#pragma once

#include <fetchpipe/error.hpp>
#include <fetchpipe/response.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fetchpipe::cli {

struct FetchReport {
  enum class Outcome { success, failure, cancelled };
  Outcome outcome = Outcome::failure;
  std::optional<int> status{};
  // kind name + message; empty kind on success. A string rather than ErrorKind so the CLI can
  // report failures the library never saw (a usage error before any request).
  std::string error_kind{};
  std::string error_message{};
  std::optional<GiveUpReason> reason{};  // nullopt on success
  std::vector<AttemptRecord> attempts{};
  std::chrono::nanoseconds elapsed{0};
  std::uint64_t bytes = 0;
  std::string transport{};
  std::string http_version{};  // of the final response ("1.1", "2"); "" when unknown (JSON null)
};

// "success", "failure", "cancelled".
[[nodiscard]] std::string_view outcome_name(FetchReport::Outcome outcome) noexcept;

// What the library's terminal callbacks carry, as a report (transport, elapsed, bytes unset).
[[nodiscard]] FetchReport report_from_response(Response response);
[[nodiscard]] FetchReport report_from_error(Error error, FetchReport::Outcome outcome);

// The report for input rejected before anything was sent (exit 2).
[[nodiscard]] FetchReport usage_error_report(std::string message, std::string transport);

// One compact JSON object, no trailing newline.
[[nodiscard]] std::string to_json(const FetchReport& report);

// "attempt 2: HTTP 503 (status 503) in 3.1 ms; retrying in 180.0 ms" — the `-v` line.
[[nodiscard]] std::string describe_attempt(const AttemptRecord& record);

}  // namespace fetchpipe::cli
