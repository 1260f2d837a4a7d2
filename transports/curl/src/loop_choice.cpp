#include "loop_choice.hpp"

#include "fetchpipe/request.hpp"

namespace fetchpipe::detail {

std::uint64_t origin_hash(std::string_view url) noexcept {
  std::string_view authority = url;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::size_t host_begin = scheme_end + 3;
    const std::size_t host_end = url.find_first_of("/?#", host_begin);
    authority = url.substr(host_begin, host_end == std::string_view::npos ? url.size() - host_begin
                                                                           : host_end - host_begin);
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  }
  // FNV-1a over the scheme and authority, lower-cased (host names compare case-insensitively).
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto mix = [&hash](char c) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  };
  for (const char c : url.substr(0, scheme_end == std::string_view::npos ? 0 : scheme_end)) mix(c);
  mix('/');
  for (const char c : authority) mix(c);
  return hash;
}

std::size_t LoopChoice::pick(const ExchangeSpec& spec) noexcept {
  if (loops_ == 1) return 0;
  if (spec.request != nullptr) {
    const HttpVersion version = spec.request->overrides.http_version.value_or(default_version_);
    if (version != HttpVersion::http1_1) return origin_hash(spec.request->url) % loops_;
  }
  return next_.fetch_add(1, std::memory_order_relaxed) % loops_;
}

}  // namespace fetchpipe::detail
