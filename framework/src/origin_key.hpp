// A URL's origin ("scheme://host:port"), the key of the retry budget, the circuit breaker and the
// admission limits. Kept in an inline buffer, so a fetch to a usual origin costs no allocation
// for it. Private to the framework.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "fetchpipe/url.hpp"

namespace fetchpipe::detail {

class OriginKey {
 public:
  void assign(const Url& url) {
    const auto written = url.is_ipv6_literal()
                             ? fmt::format_to_n(inline_.data(), inline_.size(), "{}://[{}]:{}", url.scheme(), url.host(), url.port())
                             : fmt::format_to_n(inline_.data(), inline_.size(), "{}://{}:{}", url.scheme(), url.host(), url.port());
    if (written.size <= inline_.size()) {
      heap_.clear();
      view_ = std::string_view(inline_.data(), written.size);
    } else {
      heap_ = url.origin();
      view_ = heap_;
    }
  }
  [[nodiscard]] std::string_view view() const noexcept { return view_; }

 private:
  std::array<char, 64> inline_{};
  std::string heap_;
  std::string_view view_;
};

}  // namespace fetchpipe::detail
