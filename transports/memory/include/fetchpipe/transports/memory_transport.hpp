// fetchpipe/transports/memory_transport.hpp — a scripted transport with no I/O.
//
// Answers each URL from a script: status, headers, a body in chunks, a fault (any ErrorKind),
// latencies, a hang until cancelled. Every delay is a timer on the Scheduler it is given, so with a
// ManualScheduler a whole fetch — retries, backoff waits, timeouts — runs in virtual time and
// a test advances the clock instead of sleeping. It honours the ExchangeSpec's clocks exactly like
// a network transport: connect timeout, deadline, stall timeout.
// It is the reference for the pipeline's unit tests and for measuring the pipeline's own overhead;
// it is not for talking to servers.
//
// Thread rules: script(), attempts() and requests() are thread-safe. Observer calls come from the
// Scheduler's timer callbacks (the timer thread for RealScheduler, the thread calling advance()
// for ManualScheduler), one at a time per exchange.
//
// Example:
//   auto clock = std::make_shared<fetchpipe::ManualScheduler>();
//   auto memory = std::make_shared<fetchpipe::MemoryTransport>(clock);
//   memory->script("http://svc/x", {fetchpipe::Scripted::status_code(503),
//                                   fetchpipe::Scripted::ok("hello")});
//   fetchpipe::ClientOptions options;
//   options.transport = memory;
//   options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
//   options.backoff_policy = std::make_shared<fetchpipe::ConstantBackoff>(1s);
//   options.callback_executor = std::make_shared<fetchpipe::InlineExecutor>();
//   options.scheduler = clock;  // every timer of the fetch runs in virtual time
//   fetchpipe::Client client(options);
//   std::string body;
//   client.fetch({.url = "http://svc/x"},
//                {.on_success = [&](fetchpipe::Response r) { body = r.body; }});
//   clock->advance(1s);  // the 503, the 1 s wait and the retry, in virtual time: body is "hello"
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fetchpipe/transport.hpp"

namespace fetchpipe {

// One scripted answer to one exchange.
struct Scripted {
  int status = 200;
  Headers headers;
  std::vector<std::string> chunks;                 // the body, delivered piece by piece
  std::chrono::nanoseconds connect_delay{0};       // the connect phase
  std::chrono::nanoseconds latency{0};             // after connect, until the head arrives
  std::chrono::nanoseconds chunk_interval{0};      // between two chunks
  // A fault instead of (or in the middle of) the response. Without `fail_after_chunks` it happens
  // after connect_delay + latency, before any head; with it, the head and that many chunks come
  // first (a connection reset mid-body, say).
  std::optional<ErrorKind> error;
  std::optional<std::size_t> fail_after_chunks;
  std::string message = "scripted fault";
  bool hang = false;                               // never answers; only a clock or cancel ends it

  static Scripted ok(std::string body = "ok", std::size_t chunk_count = 1);
  static Scripted status_code(int code, std::string body = "");
  static Scripted retry_after(int code, std::string value);
  static Scripted fault(ErrorKind kind, std::chrono::nanoseconds after = std::chrono::nanoseconds{0});
  static Scripted redirect(int code, std::string location);
  static Scripted hanging();
};

class MemoryTransport final : public Transport {
 public:
  struct Options {
    // Keep a copy of every request sent (for tests that inspect headers after redirects). Turn
    // off to measure the pipeline's overhead without it.
    bool record_requests = true;
  };

  explicit MemoryTransport(std::shared_ptr<Scheduler> scheduler);
  MemoryTransport(std::shared_ptr<Scheduler> scheduler, Options options);
  ~MemoryTransport() override;

  // Answers for `url` (exact string match), used in order; the last one repeats.
  void script(std::string url, std::vector<Scripted> answers);
  // The answer for URLs without a script. Default: 404 with an empty body.
  void script_fallback(Scripted answer);

  [[nodiscard]] int attempts(std::string_view url) const;  // exchanges started for `url`
  [[nodiscard]] int total_attempts() const;
  [[nodiscard]] std::vector<Request> requests(std::string_view url) const;
  [[nodiscard]] int in_flight() const;  // started and not yet completed

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override;
  [[nodiscard]] std::string_view name() const override { return "memory"; }

 private:
  class MemoryExchange;
  struct Route {
    std::vector<std::shared_ptr<const Scripted>> answers;
    std::size_t used = 0;
    int attempts = 0;
    std::vector<Request> requests;
  };

  std::shared_ptr<Scheduler> scheduler_;
  Options options_;
  mutable std::mutex mutex_;
  std::map<std::string, Route, std::less<>> routes_;
  std::shared_ptr<const Scripted> fallback_;
  int total_attempts_ = 0;
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace fetchpipe
