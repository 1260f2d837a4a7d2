// Fuzzes Url::parse and Url::resolve.
//
// Input: "<base>\n<location>" (without a newline, the whole input is parsed as a URL and also
// resolved against a fixed base). Invariants:
//   - a parsed URL is http or https, has a host, a port in 1..65535 and a target starting with '/';
//     its str() has no space or control character, parses again, and to the same str(), origin
//     and target (idempotent normalisation);
//   - every URL is same_origin with itself, and with the result of resolving a relative reference;
//   - resolve() only ever yields http/https URLs (a redirect can never reach another scheme), and
//     a resolved URL parses again to the same str();
//   - resolve() of an absolute URL agrees with parse() of it.
// And, differentially against libcurl's URL parser (curl_url_oracle.hpp, whose header lists each
// normalisation and why):
//   - every URL ours accepts (the input, the base, and the str() of every resolved redirect, which
//     is the text the curl transport hands libcurl) is accepted by libcurl too, with the same
//     scheme, host, port, path and query, no user info and no zone id: otherwise the pipeline
//     judges one origin while the connection goes to another;
//   - where ours resolves a redirect and libcurl does too, both land on the same origin.
//   URLs libcurl accepts and ours rejects are allowed: ours is stricter on purpose (user info,
//   zone ids, an empty port or port 0, "http:/x", other schemes, hosts outside [A-Za-z0-9._~-]).
#include <algorithm>
#include <string>

#include "curl_url_oracle.hpp"
#include "fetchpipe/url.hpp"
#include "fuzz_check.hpp"

namespace {

using fetchpipe::Url;

// Ours accepted `text` as `url`: libcurl must read the same URL out of the same text.
void compare_with_curl(const Url& url, std::string_view text) {
  const std::string shown(text.substr(0, 300));
  const auto theirs = fetchpipe::fuzz::curl_parse(text);
  FUZZ_CHECK(theirs, "ours accepts '%s' (host '%s'), libcurl rejects it", shown.c_str(), url.host().c_str());
  FUZZ_CHECK(theirs->scheme == url.scheme(), "'%s': scheme '%s' vs libcurl's '%s'", shown.c_str(),
             url.scheme().c_str(), theirs->scheme.c_str());
  FUZZ_CHECK(theirs->user.empty(), "'%s': libcurl sees user info '%s' where ours sees host '%s'", shown.c_str(),
             theirs->user.c_str(), url.host().c_str());
  FUZZ_CHECK(theirs->zone.empty(), "'%s': libcurl sees zone id '%s'", shown.c_str(), theirs->zone.c_str());
  const std::string our_host = url.is_ipv6_literal() ? "[" + url.host() + "]" : url.host();
  FUZZ_CHECK(fetchpipe::fuzz::host_key(our_host) == fetchpipe::fuzz::host_key(theirs->host),
             "'%s': host '%s' vs libcurl's '%s'", shown.c_str(), url.host().c_str(), theirs->host.c_str());
  FUZZ_CHECK(theirs->port == url.port(), "'%s': port %u vs libcurl's %u", shown.c_str(), unsigned{url.port()},
             theirs->port);
  const std::string_view target = url.target();
  const auto q = target.find('?');
  const std::string path = fetchpipe::fuzz::without_dot_segments(target.substr(0, q));
  FUZZ_CHECK(path == theirs->path, "'%s': path '%s' (dot segments removed) vs libcurl's '%s'", shown.c_str(),
             path.c_str(), theirs->path.c_str());
  const std::optional<std::string> query =
      q == std::string_view::npos ? std::nullopt : std::optional<std::string>(target.substr(q + 1));
  FUZZ_CHECK(query == theirs->query, "'%s': query '%s' vs libcurl's '%s'", shown.c_str(),
             query.value_or("(none)").c_str(), theirs->query.value_or("(none)").c_str());
}

void check_parsed(const Url& url, std::string_view from) {
  const int shown = static_cast<int>(std::min<std::size_t>(from.size(), 300));
  FUZZ_CHECK(url.scheme() == "http" || url.scheme() == "https", "scheme '%s' from '%.*s'", url.scheme().c_str(),
             shown, from.data());
  FUZZ_CHECK(!url.host().empty(), "empty host from '%.*s'", shown, from.data());
  FUZZ_CHECK(url.port() != 0, "port 0 from '%.*s'", shown, from.data());
  FUZZ_CHECK(!url.target().empty() && url.target().front() == '/', "target '%s' from '%.*s'",
             url.target().c_str(), shown, from.data());
  FUZZ_CHECK(url.same_origin(url), "not same origin with itself");
  const std::string text = url.str();
  FUZZ_CHECK(std::none_of(text.begin(), text.end(),
                          [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }),
             "str() '%s' has a space or control character", text.c_str());
  const auto again = Url::parse(text);
  FUZZ_CHECK(again, "str() '%s' of '%.*s' does not parse: %s", text.c_str(), shown, from.data(),
             again ? "" : again.error().c_str());
  FUZZ_CHECK(again->str() == text, "'%s' parses to '%s'", text.c_str(), again->str().c_str());
  FUZZ_CHECK(again->origin() == url.origin() && again->target() == url.target() && again->same_origin(url),
             "'%s' changes origin or target when parsed again", text.c_str());
  compare_with_curl(url, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fetchpipe::fuzz::as_text(data, size);
  const auto parts = fetchpipe::fuzz::split(input, '\n', 2);
  const std::string_view base_text = parts.size() == 2 ? parts[0] : std::string_view{"http://127.0.0.1:8080/a/b?c=d"};
  const std::string_view location = parts.size() == 2 ? parts[1] : input;

  if (parts.size() == 1) {
    if (const auto url = Url::parse(input)) check_parsed(*url, input);
  } else if (const auto url = Url::parse(base_text)) {
    check_parsed(*url, base_text);
  }

  const auto base = Url::parse(base_text);
  if (!base) return 0;
  const auto next = base->resolve(location);
  if (!next) return 0;
  check_parsed(*next, location);
  const auto as_absolute = Url::parse(location.substr(0, location.find('#')));
  if (as_absolute) {
    FUZZ_CHECK(as_absolute->str() == next->str(), "resolve('%s') = '%s' but parse gives '%s'",
               std::string(location).c_str(), next->str().c_str(), as_absolute->str().c_str());
  }
  // libcurl following the same Location from the same base must reach the same origin.
  if (const auto theirs = fetchpipe::fuzz::curl_resolve(base->str(), location)) {
    const std::string our_host = next->is_ipv6_literal() ? "[" + next->host() + "]" : next->host();
    FUZZ_CHECK(theirs->scheme == next->scheme() && theirs->port == next->port() &&
                   fetchpipe::fuzz::host_key(theirs->host) == fetchpipe::fuzz::host_key(our_host),
               "Location '%s' from '%s': ours goes to %s, libcurl to %s://%s:%u", std::string(location).c_str(),
               base->str().c_str(), next->origin().c_str(), theirs->scheme.c_str(), theirs->host.c_str(), theirs->port);
  }
  const bool scheme_relative = location.starts_with("//");
  if (!as_absolute && !scheme_relative) {
    FUZZ_CHECK(next->same_origin(*base), "relative reference '%s' left the origin of '%s'",
               std::string(location).c_str(), base->str().c_str());
  }
  return 0;
}
