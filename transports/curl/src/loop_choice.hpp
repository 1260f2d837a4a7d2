// loop_choice.hpp — which event loop of a CurlTransport runs an exchange.
//
// HTTP/1.1 exchanges go round-robin: each is independent, so spreading them evenly balances the
// loops best. An exchange that may be multiplexed (HTTP/2) goes to the loop its origin hashes to,
// so every stream to one origin lands on the same multi handle and shares one connection.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::detail {

// A hash of the scheme and authority (userinfo dropped) of an absolute URL, case-insensitive.
// Only its stability matters: "https://a" and "https://a:443" may hash differently, which costs
// at most one more connection, never correctness.
[[nodiscard]] std::uint64_t origin_hash(std::string_view url) noexcept;

class LoopChoice {
 public:
  LoopChoice(std::size_t loops, HttpVersion default_version) noexcept
      : loops_(loops), default_version_(default_version) {}

  // The index (< loops) of the loop that runs this exchange. Safe from any thread.
  [[nodiscard]] std::size_t pick(const ExchangeSpec& spec) noexcept;

 private:
  const std::size_t loops_;
  const HttpVersion default_version_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace fetchpipe::detail
