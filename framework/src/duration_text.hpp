// Private to framework/ and policies/: renders a duration for validation messages in the largest unit that
// represents it exactly, so "got -5ms" reads better than "got -5000000ns".
#pragma once

#include <chrono>
#include <string>

#include <fmt/format.h>

namespace fetchpipe::detail {

[[nodiscard]] inline std::string duration_text(std::chrono::nanoseconds d) {
  const auto n = d.count();
  if (n % 1'000'000'000 == 0) return fmt::format("{}s", n / 1'000'000'000);
  if (n % 1'000'000 == 0) return fmt::format("{}ms", n / 1'000'000);
  if (n % 1'000 == 0) return fmt::format("{}us", n / 1'000);
  return fmt::format("{}ns", n);
}

}  // namespace fetchpipe::detail
