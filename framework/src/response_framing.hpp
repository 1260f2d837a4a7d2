// How long the body of a response is, as its head declares it. Private to the framework.
//
// Both transports frame bodies themselves, but their libraries disagree on malformed heads (one
// takes the first of two differing Content-Length values, the other the last; both read "+0x2"
// as a number), and a disagreement on framing is how responses get desynchronised. The pipeline
// therefore checks the head of every accepted response once, the same way on every transport,
// and checks the body it received against it (RFC 9112 section 6.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::detail {

struct Framing {
  std::optional<std::uint64_t> length;  // the announced body length, when there is one
  std::optional<std::string> problem;   // why the head cannot be trusted, when it cannot
};

// `method` is the method of the request that was answered (a HEAD's length describes a body
// that is not sent).
[[nodiscard]] Framing framing_of(const ResponseHead& head, std::string_view method);

// What is wrong with a complete body of `received` bytes, given the framing, or nullopt.
[[nodiscard]] std::optional<std::string> body_mismatch(const Framing& framing, std::uint64_t received);

}  // namespace fetchpipe::detail
