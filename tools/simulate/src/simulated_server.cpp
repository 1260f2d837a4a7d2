#include "fetchpipe/simulate/simulated_server.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

namespace fetchpipe::simulate {

// One attempt as the server holds it. Every field is guarded by the server's mutex. The server
// side (queue, worker) and the client side (`client_done`, the observer) are separate on purpose:
// the client may leave while the request is still queued or being served.
class SimulatedServer::SimExchange final : public Exchange, public std::enable_shared_from_this<SimExchange> {
 public:
  SimExchange(std::weak_ptr<SimulatedServer> server, std::shared_ptr<ExchangeObserver> observer)
      : server_(std::move(server)), observer_(std::move(observer)) {}

  void cancel() override {
    const auto server = server_.lock();
    if (!server) return;
    std::lock_guard lock(server->mutex_);
    if (client_done_ || cancelling_) return;
    cancelling_ = true;
    // Never call the observer from inside cancel(): end the exchange from a timer.
    server->scheduler_->schedule_at(server->scheduler_->now(), [self = shared_from_this()] {
      self->end_for_client(std::nullopt, ExchangeResult{ErrorKind::cancelled, "cancelled"});
    });
  }

  // Ends the exchange for the client, once: with a response (`status`) or with `result`'s error.
  void end_for_client(std::optional<int> status, ExchangeResult result) {
    const auto server = server_.lock();
    if (!server) return;
    std::shared_ptr<ExchangeObserver> observer;
    {
      std::lock_guard lock(server->mutex_);
      if (client_done_) return;
      client_done_ = true;
      if (deadline_timer_ != 0) server->scheduler_->cancel(deadline_timer_);
      observer = std::move(observer_);
    }
    if (status) observer->on_head(ResponseHead{*status, {}});
    observer->on_complete(std::move(result));
  }

  std::weak_ptr<SimulatedServer> server_;
  std::shared_ptr<ExchangeObserver> observer_;
  TimerId deadline_timer_ = 0;
  bool client_done_ = false;  // the client has its outcome (or gave up): the server may not know
  bool cancelling_ = false;
};

SimulatedServer::SimulatedServer(std::shared_ptr<Scheduler> scheduler, ServerModel model, std::uint64_t seed)
    : scheduler_(std::move(scheduler)),
      model_(std::move(model)),
      created_(scheduler_ ? scheduler_->now() : TimePoint{}),
      random_(seed) {
  if (!scheduler_) throw std::invalid_argument("SimulatedServer: scheduler must be set, got null");
  if (model_.workers && *model_.workers < 1) {
    throw std::invalid_argument(fmt::format("SimulatedServer: workers must be >= 1, got {}", *model_.workers));
  }
  if (model_.fault_until < model_.fault_from) {
    throw std::invalid_argument("SimulatedServer: fault_until must be >= fault_from");
  }
  if (model_.service.typical.count() < 0 || model_.service.slow.count() < 0 || model_.fault_latency.count() < 0 ||
      model_.refuse_latency.count() < 0 || model_.fault_from.count() < 0) {
    throw std::invalid_argument("SimulatedServer: times must be >= 0");
  }
  if (!(model_.service.slow_fraction >= 0.0 && model_.service.slow_fraction <= 1.0)) {
    throw std::invalid_argument(
        fmt::format("SimulatedServer: slow_fraction must be in [0, 1], got {}", model_.service.slow_fraction));
  }
}

SimulatedServer::~SimulatedServer() = default;

std::shared_ptr<Exchange> SimulatedServer::start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) {
  auto exchange = std::make_shared<SimExchange>(weak_from_this(), std::move(observer));
  std::lock_guard lock(mutex_);
  ++counts_.arrivals;
  const TimePoint now = scheduler_->now();
  if (spec.deadline != TimePoint::max()) {
    // The client's clock: the server never learns of it.
    exchange->deadline_timer_ = scheduler_->schedule_at(spec.deadline, [exchange] {
      exchange->end_for_client(std::nullopt, ExchangeResult{ErrorKind::attempt_timeout, "simulated: attempt timed out"});
    });
  }
  const auto since_start = now - created_;
  const auto answer_at_once = [&](int status, std::chrono::nanoseconds after) {
    scheduler_->schedule_at(now + after, [exchange, status] { exchange->end_for_client(status, ExchangeResult{}); });
  };
  if (since_start >= model_.fault_from && since_start < model_.fault_until) {
    ++counts_.faulted;
    answer_at_once(model_.fault_status, model_.fault_latency);
  } else if (!model_.workers || counts_.busy < *model_.workers) {
    begin_service(exchange);
  } else if (model_.queue_limit && queue_.size() >= *model_.queue_limit) {
    ++counts_.refused;
    answer_at_once(503, model_.refuse_latency);
  } else {
    queue_.push_back(exchange);
  }
  counts_.queued = queue_.size();
  return exchange;
}

void SimulatedServer::begin_service(std::shared_ptr<SimExchange> exchange) {
  ++counts_.busy;
  const auto work = draw_service_time();
  scheduler_->schedule_after(work, [weak = weak_from_this(), exchange = std::move(exchange)] {
    if (const auto server = weak.lock()) server->finish_service(exchange);
  });
}

void SimulatedServer::finish_service(const std::shared_ptr<SimExchange>& exchange) {
  bool answer = false;
  {
    std::lock_guard lock(mutex_);
    --counts_.busy;
    if (exchange->client_done_) {
      ++counts_.wasted;  // the client left while this was queued or in service
    } else {
      ++counts_.served;
      answer = true;
    }
    while (!queue_.empty() && (!model_.workers || counts_.busy < *model_.workers)) {
      auto next = std::move(queue_.front());
      queue_.pop_front();
      begin_service(std::move(next));
    }
    counts_.queued = queue_.size();
  }
  if (answer) exchange->end_for_client(200, ExchangeResult{});
}

std::chrono::nanoseconds SimulatedServer::draw_service_time() {
  const ServiceTime& s = model_.service;
  const bool slow = s.slow_fraction > 0.0 && random_.uniform() < s.slow_fraction;
  const auto typical = slow ? s.slow : s.typical;
  return s.shape == ServiceShape::exponential ? random_.exponential(typical) : random_.about(typical);
}

ServerCounts SimulatedServer::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

}  // namespace fetchpipe::simulate
