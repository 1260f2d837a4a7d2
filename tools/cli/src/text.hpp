// text.hpp — small text helpers shared by the commands: showing user input safely on one line,
// and the exception that carries a usage error to main().
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fetchpipe::cli {

// `text` with control characters escaped (\r, \n, \t, \xNN), so an error message that quotes user
// input stays on one line: exit 2 promises exactly one line on stderr.
[[nodiscard]] std::string printable(std::string_view text);

// Invalid input: a flag or argument and what is wrong with it. main() prints
// "fetchpipe: <what()>" and exits 2; nothing has been sent when one is thrown.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "12.3 ms", "1.25 s": a duration as a person reads it.
[[nodiscard]] std::string human_duration(std::chrono::nanoseconds d);
// Whole milliseconds, rounded to nearest (JSON and tables).
[[nodiscard]] long long to_ms(std::chrono::nanoseconds d);

}  // namespace fetchpipe::cli
