// fetchpipe/simulate/simulated_server.hpp — a server as a Transport, on the Scheduler's clock.
//
// What `fetchpipe simulate` runs the real Client against. It models what makes retries dangerous
// for a real server:
//   - a fixed number of workers (or none: unlimited), each serving one request at a time for a
//     service time drawn from the model;
//   - a FIFO queue of requests waiting for a worker, bounded: an arrival that finds it full is
//     refused at once with 503 (load shedding at the front, which costs no worker time);
//   - no knowledge of the client's clock: a request whose client gave up (its attempt timed out or
//     was cancelled) stays queued, and when a worker reaches it the work is done anyway and thrown
//     away — a classic thread-pool server finds out the client left only when it writes the
//     response. That wasted work is what keeps an overloaded server down while clients retry;
//   - a fault window: every request arriving in [fault_from, fault_until) is answered 503 at once.
// The client side of an exchange keeps the Transport rules: the observer is called from the
// Scheduler's timers, never inside start() or cancel(); the exchange's deadline ends it with
// attempt_timeout; cancel() ends it with cancelled.
// Deterministic: service times come from the model's own seeded generator, drawn in the order
// requests reach a worker, and a ManualScheduler fires timers in a fixed order.
//
// Example (a 100-request-per-second server: 2 workers, about 20 ms each):
//   auto clock = std::make_shared<fetchpipe::ManualScheduler>();
//   fetchpipe::simulate::ServerModel model{.workers = 2, .queue_limit = 400,
//                                          .service = {.typical = 20ms,
//                                                      .shape = fetchpipe::simulate::ServiceShape::exponential}};
//   auto server = std::make_shared<fetchpipe::simulate::SimulatedServer>(clock, model, /*seed=*/1);
//   options.transport = server;  options.scheduler = clock;  // then run fetches, clock->advance(...)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include <fetchpipe/transport.hpp>

#include "fetchpipe/simulate/sim_random.hpp"

namespace fetchpipe::simulate {

enum class ServiceShape {
  about,        // uniform within +-20 % of `typical` (or of `slow` for the slow ones)
  exponential,  // exponential with mean `typical` (M/M/c queueing)
};

struct ServiceTime {
  std::chrono::nanoseconds typical{std::chrono::milliseconds{10}};
  ServiceShape shape = ServiceShape::about;
  double slow_fraction = 0.0;  // this share of requests takes about `slow` instead
  std::chrono::nanoseconds slow{std::chrono::seconds{1}};
};

struct ServerModel {
  std::optional<int> workers{};                  // requests served at once; empty = unlimited
  std::optional<std::size_t> queue_limit{};      // requests waiting for a worker; empty = unbounded
  ServiceTime service{};
  // Requests arriving in [fault_from, fault_until) get `fault_status` after `fault_latency`,
  // without a worker. Offsets from the server's creation.
  std::chrono::nanoseconds fault_from{0};
  std::chrono::nanoseconds fault_until{0};
  int fault_status = 503;
  std::chrono::nanoseconds fault_latency{std::chrono::milliseconds{1}};
  // How long refusing an arrival at a full queue takes to reach the client (503).
  std::chrono::nanoseconds refuse_latency{std::chrono::milliseconds{1}};
};

// Counts since the server was created.
struct ServerCounts {
  std::uint64_t arrivals = 0;     // attempts the server saw
  std::uint64_t served = 0;       // a worker finished them and the client was still there
  std::uint64_t wasted = 0;       // a worker finished them after their client had given up
  std::uint64_t refused = 0;      // queue full: 503 at once
  std::uint64_t faulted = 0;      // inside the fault window: 503 at once
  std::size_t queued = 0;         // waiting for a worker now
  int busy = 0;                   // workers busy now
};

class SimulatedServer final : public Transport, public std::enable_shared_from_this<SimulatedServer> {
 public:
  // Throws std::invalid_argument for a null scheduler or a model out of range (workers < 1,
  // fault_until < fault_from, a negative time).
  SimulatedServer(std::shared_ptr<Scheduler> scheduler, ServerModel model, std::uint64_t seed);
  ~SimulatedServer() override;

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override;
  [[nodiscard]] std::string_view name() const override { return "simulated"; }

  [[nodiscard]] ServerCounts counts() const;
  [[nodiscard]] const ServerModel& model() const noexcept { return model_; }

 private:
  class SimExchange;

  void begin_service(std::shared_ptr<SimExchange> exchange);  // mutex_ held
  void finish_service(const std::shared_ptr<SimExchange>& exchange);
  [[nodiscard]] std::chrono::nanoseconds draw_service_time();  // mutex_ held

  std::shared_ptr<Scheduler> scheduler_;
  const ServerModel model_;
  const TimePoint created_;
  mutable std::mutex mutex_;
  SimRandom random_;
  std::deque<std::shared_ptr<SimExchange>> queue_;
  ServerCounts counts_{};
};

}  // namespace fetchpipe::simulate
