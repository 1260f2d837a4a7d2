#include "fetchpipe/policies/timeouts.hpp"

#include <limits>

namespace fetchpipe {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Parses a non-empty run of digits into `out`; false on overflow or a non-digit.
bool parse_digits(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t value = 0;
  for (const char c : s) {
    if (!is_digit(c)) return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

// a * b, false on overflow past `limit`.
bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit, std::uint64_t& out) noexcept {
  if (b != 0 && a > limit / b) return false;
  out = a * b;
  return true;
}

constexpr std::uint64_t pow10(std::size_t n) noexcept {
  std::uint64_t p = 1;
  for (std::size_t i = 0; i < n; ++i) p *= 10;
  return p;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  // A unit's length in nanoseconds, written as factor * 10^exponent so the fraction can be scaled
  // exactly in integers: "1.5s" must be exactly 1500ms, which binary floating point cannot promise.
  struct Unit {
    std::string_view suffix;
    std::uint64_t factor;
    std::size_t exponent;
  };
  constexpr Unit kUnits[] = {{"ms", 1, 6}, {"s", 1, 9}, {"m", 6, 10}};

  const auto number_end = text.find_first_not_of("0123456789.");
  if (number_end == std::string_view::npos) return std::nullopt;  // no unit
  const std::string_view number = text.substr(0, number_end);
  const std::string_view suffix = text.substr(number_end);
  const Unit* unit = nullptr;
  for (const auto& u : kUnits) {
    if (suffix == u.suffix) unit = &u;
  }
  if (unit == nullptr) return std::nullopt;

  const auto dot = number.find('.');
  const std::string_view whole_text = number.substr(0, dot);
  std::string_view fraction_text =
      dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  std::uint64_t whole = 0;
  if (!parse_digits(whole_text, whole)) return std::nullopt;  // also rejects ".5s"
  if (dot != std::string_view::npos && fraction_text.empty()) return std::nullopt;  // "1.s"

  constexpr auto kLimit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t unit_ns = unit->factor * pow10(unit->exponent);
  std::uint64_t total = 0;
  if (!checked_mul(whole, unit_ns, kLimit, total)) return std::nullopt;

  if (!fraction_text.empty()) {
    // Digits past the 18th are below a nanosecond for every unit: checked, then dropped. The
    // result is truncated to whole nanoseconds.
    if (fraction_text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    if (fraction_text.size() > 18) fraction_text = fraction_text.substr(0, 18);
    std::uint64_t fraction = 0;
    if (!parse_digits(fraction_text, fraction)) return std::nullopt;
    const std::size_t places = fraction_text.size();
    // fraction < 10^places, so neither product can overflow.
    const std::uint64_t fraction_ns =
        places <= unit->exponent
            ? unit->factor * fraction * pow10(unit->exponent - places)
            : unit->factor * fraction / pow10(places - unit->exponent);
    if (fraction_ns > kLimit - total) return std::nullopt;
    total += fraction_ns;
  }
  return std::chrono::nanoseconds{static_cast<std::chrono::nanoseconds::rep>(total)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': multiplier = 1ULL << 10; break;
      case 'M': multiplier = 1ULL << 20; break;
      case 'G': multiplier = 1ULL << 30; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  std::uint64_t value = 0;
  if (!parse_digits(text, value)) return std::nullopt;
  std::uint64_t bytes = 0;
  if (!checked_mul(value, multiplier, std::numeric_limits<std::uint64_t>::max(), bytes)) {
    return std::nullopt;
  }
  return bytes;
}

}  // namespace fetchpipe
