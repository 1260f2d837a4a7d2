// fetchpipe/hedging_policy.hpp — when a fetch sends a second copy of an attempt that is late.
//
// Retries help a request that failed; a hedge helps one that is merely slow. With a hedging
// policy in ClientOptions, an idempotent fetch (RFC 9110 method, or an Idempotency-Key header)
// whose attempt has no response head after hedge_delay() starts another attempt of the same
// request, up to max_in_flight() at once. The first response the client accepts wins; the
// others are cancelled at once (their connections closed). A hedge is an attempt like any
// other: it counts towards the retry policy's attempt limit and spends the retry budget, and
// on_attempt reports it with `hedge` set. Implementations must be thread-safe: one policy serves
// every fetch of a client. The pipeline calls them outside its locks.
// fetchpipe/policies/fixed_hedging.hpp and adaptive_hedging.hpp are the implementations.
//
// Example:
//   // Hedge after 50 ms, at most two attempts at once.
//   struct After50ms : fetchpipe::HedgingPolicy {
//     std::optional<std::chrono::nanoseconds> hedge_delay(std::string_view) override {
//       return std::chrono::milliseconds{50};
//     }
//     int max_in_flight() const override { return 2; }
//   };
//   fetchpipe::ClientOptions options;
//   options.hedging = std::make_shared<After50ms>();
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace fetchpipe {

class HedgingPolicy {
 public:
  virtual ~HedgingPolicy() = default;

  // How long after the latest attempt of a fetch to `origin` started, with no response head yet,
  // the next hedge goes. nullopt: no hedge for now. Asked again for each further hedge.
  [[nodiscard]] virtual std::optional<std::chrono::nanoseconds> hedge_delay(std::string_view origin) = 0;

  // Attempts of one fetch in flight at once, the first included. The client requires 2..5.
  [[nodiscard]] virtual int max_in_flight() const = 0;

  // An attempt to `origin` received a response head the client accepted, `latency` after it was
  // handed to the transport. What an adaptive policy learns from; hedged or not, every fetch of
  // the client reports here while hedging is configured.
  virtual void record_latency(std::string_view origin, std::chrono::nanoseconds latency) {
    (void)origin;
    (void)latency;
  }
};

}  // namespace fetchpipe
