#include "text.hpp"

#include <fmt/format.h>

namespace fetchpipe::cli {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (byte < 0x20 || byte == 0x7f) out += fmt::format("\\x{:02x}", byte);
    else out += c;
  }
  return out;
}

std::string human_duration(std::chrono::nanoseconds d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  if (ms < 1000.0) return fmt::format("{:.1f} ms", ms);
  return fmt::format("{:.2f} s", ms / 1000.0);
}

long long to_ms(std::chrono::nanoseconds d) {
  return std::chrono::round<std::chrono::milliseconds>(d).count();
}

}  // namespace fetchpipe::cli
