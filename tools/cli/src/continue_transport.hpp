// continue_transport.hpp — `get -C`: continue FILE.part, left by an earlier run, from its size.
//
// The library resumes a cut response inside one fetch (ClientOptions::resume), counting from the
// first byte that fetch delivered. A `-C` run starts with N bytes the library never saw, so this
// decorator sits between the pipeline and the real transport and shifts the fetch by N:
//
//   - While it continues, every GET goes out with `Range: bytes=N+k-` (k = the Range the pipeline
//     itself asked, 0 without one) and `If-Range` (the sidecar's validator, or the pipeline's).
//     A 206 whose Content-Range starts there is handed to the pipeline as the pipeline's own
//     answer: a 200 of the rest when it asked no Range, else a 206 from k. The pipeline's body
//     limit then counts what this run fetches, and its resume works as usual on top.
//   - A 200 (the entity changed) ends the continuation: base() becomes 0 and the sink starts
//     over (at its next write, or through on_rewind when the pipeline had bytes of this run).
//   - A 206 from another byte, or a 416, is never trusted: the exchange fails as a reset before
//     the pipeline sees a byte of it, the continuation ends, and a Range the pipeline asks
//     relative to the old start is taken off until a 200 of the whole entity has come back.
//
// It also watches the heads of accepted responses for the validator the sidecar must keep
// (validator()), on fresh downloads too. Thread-safe; one instance per `get` run.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <fetchpipe/transport.hpp>

namespace fetchpipe::cli {

class ContinueTransport final : public Transport {
 public:
  // `offset` > 0 with a non-empty `validator`: continue from there. Otherwise only watch.
  ContinueTransport(std::shared_ptr<Transport> inner, std::uint64_t offset, std::string validator);

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override;
  [[nodiscard]] std::string_view name() const override { return inner_->name(); }

  // Which byte of the resource the sink's first byte holds: the offset while the continuation
  // stands, 0 once it ended.
  [[nodiscard]] std::uint64_t base() const;
  // The validator of the last 200 or 206 seen that offered one (Accept-Ranges: bytes and a strong
  // ETag, else Last-Modified); "" when the last one offered none.
  [[nodiscard]] std::string validator() const;
  // The absolute byte the first exchange started since the previous call asked for (nullopt: no
  // Range, or no exchange since). For the attempt records of the report.
  [[nodiscard]] std::optional<std::uint64_t> take_asked();
  // Whether the last head handed on was a 206 shown to the pipeline as a 200 (the continuation's
  // first part): the report then says 206, as the server did. Reset by the call.
  [[nodiscard]] bool take_translated();

 private:
  class Tap;
  // What the taps of this transport's exchanges share with it. They hold this, never the
  // transport: the last reference to the inner transport must not be dropped on one of its own
  // threads (a curl loop thread releasing its CurlTransport would join itself).
  struct Continuation;

  std::shared_ptr<Transport> inner_;
  std::shared_ptr<Continuation> state_;
};

}  // namespace fetchpipe::cli
