// batch_report.hpp — what batch mode prints: one JSON line per input line on stdout, the
// `--json` summary as the last line of stderr, and the progress line on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "report.hpp"

namespace fetchpipe::cli {

struct BatchLineReport {
  std::uint64_t line = 0;
  std::string url{};
  std::optional<std::string> output{};  // the file written, shown under --output-dir
  FetchReport::Outcome outcome = FetchReport::Outcome::failure;
  std::optional<int> status{};
  std::string error_kind{};  // empty on success
  std::string error_message{};
  std::optional<GiveUpReason> reason{};
  std::size_t attempts = 0;
  std::chrono::nanoseconds elapsed{0};
  std::uint64_t bytes = 0;
};

struct BatchTally {
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t skipped = 0;
  std::uint64_t bytes = 0;
  [[nodiscard]] std::uint64_t done() const noexcept { return succeeded + failed + cancelled + skipped; }
  void add(const BatchLineReport& report);
};

// A line rejected before anything was sent (kind invalid_request).
[[nodiscard]] BatchLineReport invalid_line_report(std::uint64_t line, std::string url, std::string message);

// One compact JSON object, no newline.
[[nodiscard]] std::string to_json(const BatchLineReport& report);
[[nodiscard]] std::string summary_json(const BatchTally& tally, bool cancelled, std::chrono::nanoseconds elapsed);

// "120/1000 done, 3 failed, 1.2 MiB, 85.0/s, 0:01:24 elapsed, ETA 0:10:21" (total nullopt while
// the input is still being read).
[[nodiscard]] std::string progress_text(const BatchTally& tally, std::optional<std::uint64_t> total,
                                        std::chrono::nanoseconds elapsed);

}  // namespace fetchpipe::cli
