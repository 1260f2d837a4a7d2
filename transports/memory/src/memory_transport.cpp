#include "fetchpipe/transports/memory_transport.hpp"

#include <fmt/format.h>

namespace fetchpipe {

Scripted Scripted::ok(std::string body, std::size_t chunk_count) {
  Scripted s;
  if (chunk_count <= 1 || body.size() <= 1) {
    if (!body.empty()) s.chunks.push_back(std::move(body));
    return s;
  }
  const std::size_t piece = (body.size() + chunk_count - 1) / chunk_count;
  for (std::size_t at = 0; at < body.size(); at += piece) s.chunks.push_back(body.substr(at, piece));
  return s;
}

Scripted Scripted::status_code(int code, std::string body) {
  Scripted s = ok(std::move(body));
  s.status = code;
  return s;
}

Scripted Scripted::retry_after(int code, std::string value) {
  Scripted s = status_code(code);
  s.headers.add("Retry-After", std::move(value));
  return s;
}

Scripted Scripted::fault(ErrorKind kind, std::chrono::nanoseconds after) {
  Scripted s;
  s.error = kind;
  s.latency = after;
  s.message = fmt::format("scripted {}", to_string(kind));
  return s;
}

Scripted Scripted::redirect(int code, std::string location) {
  Scripted s = status_code(code);
  s.headers.add("Location", std::move(location));
  return s;
}

Scripted Scripted::hanging() {
  Scripted s;
  s.hang = true;
  return s;
}

// One scripted exchange, played by timers. Every step is planned under `mutex_` before the
// observer is called, so a cancel() arriving meanwhile always finds the pending timer to cancel.
class MemoryTransport::MemoryExchange final : public Exchange,
                                              public std::enable_shared_from_this<MemoryExchange> {
 public:
  MemoryExchange(std::shared_ptr<Scheduler> scheduler, std::shared_ptr<ExchangeObserver> observer,
                 std::shared_ptr<const Scripted> answer, const ExchangeSpec& spec, std::shared_ptr<std::atomic<int>> in_flight)
      : scheduler_(scheduler.get()),
        scheduler_alive_(scheduler),
        observer_(std::move(observer)),
        answer_(std::move(answer)),
        deadline_(spec.deadline),
        connect_timeout_(spec.connect_timeout),
        stall_(spec.stall_timeout),
        in_flight_(std::move(in_flight)) {}

  void begin() {
    std::lock_guard lock(mutex_);
    const TimePoint start = scheduler_->now();
    if (answer_->connect_delay >= connect_timeout_) {
      plan(start + connect_timeout_, Step{Kind::fail, 0, ErrorKind::connect_timeout});
      return;
    }
    connected_at_ = start + answer_->connect_delay;
    last_byte_ = connected_at_;
    connected_ = true;
    const TimePoint answer_at = connected_at_ + answer_->latency;
    if (answer_->hang) {
      plan(TimePoint::max(), Step{Kind::finish, 0, {}});
    } else if (answer_->error && !answer_->fail_after_chunks) {
      plan(answer_at, Step{Kind::fail, 0, *answer_->error});
    } else {
      plan(answer_at, Step{Kind::head, 0, {}});
    }
  }

  void cancel() override {
    // The scheduler drives this exchange; once it is gone nothing can run here any more.
    const auto keep = scheduler_alive_.lock();
    if (!keep) return;
    std::lock_guard lock(mutex_);
    if (completed_ || cancelling_) return;
    cancelling_ = true;
    if (timer_ != 0) scheduler_->cancel(timer_);
    // Never call the observer from inside cancel(): complete from a timer.
    timer_ = scheduler_->schedule_task(scheduler_->now(), [self = shared_from_this()] {
      self->complete(ExchangeResult{ErrorKind::cancelled, "cancelled"});
    });
  }

 private:
  enum class Kind { head, chunk, finish, fail };
  struct Step {
    Kind kind;
    std::size_t chunk;
    std::optional<ErrorKind> error;
  };

  // Schedules `step` at `when`, unless the stall clock or the deadline ends the exchange first.
  void plan(TimePoint when, Step step) {
    if (connected_ && stall_ && last_byte_ + *stall_ < when) {
      when = last_byte_ + *stall_;
      step = Step{Kind::fail, 0, ErrorKind::stall_timeout};
    }
    if (deadline_ <= when) {
      when = deadline_;
      step = Step{Kind::fail, 0, ErrorKind::attempt_timeout};
    }
    if (when == TimePoint::max()) return;
    if (inline_ok_ && when <= scheduler_->now()) {
      immediate_ = step;  // due already: the running step continues with it, no timer needed
      return;
    }
    timer_ = scheduler_->schedule_task(when, [self = shared_from_this(), step] { self->fire(step); });
  }

  // A step that throws (memory exhausted copying the head, or arming the next timer) would leave
  // the exchange with no timer, never completing: end it as internal_error instead, as the
  // network transports do when their observer or bookkeeping throws.
  void fire(Step step) {
    try {
      fire_step(step);
    } catch (const std::exception& e) {
      fail_from_exception(e.what());
    } catch (...) {
      fail_from_exception("a non-standard exception");
    }
  }

  void fail_from_exception(const char* what) noexcept {
    try {
      {
        std::lock_guard lock(mutex_);
        if (completed_) return;
        if (timer_ != 0) scheduler_->cancel(timer_);
        timer_ = 0;
      }
      complete(ExchangeResult{ErrorKind::internal_error, fmt::format("memory: the exchange failed: {}", what)});
    } catch (...) {
      // Failing again while failing: nothing safe is left to do.
    }
  }

  // Runs `step`, then any step it made due at once (the first chunk right after the head, the
  // end right after the last chunk), so a quick answer costs one timer, not one per step.
  void fire_step(Step step) {
    for (;;) {
      std::unique_lock lock(mutex_);
      if (completed_ || cancelling_) return;
      timer_ = 0;
      const TimePoint now = scheduler_->now();
      immediate_.reset();
      inline_ok_ = true;
      switch (step.kind) {
        case Kind::head: {
          last_byte_ = now;
          ResponseHead head{answer_->status, answer_->headers};
          plan_after_chunk(now, 0, /*first=*/true);
          inline_ok_ = false;
          lock.unlock();
          observer_->on_head(std::move(head));
          break;
        }
        case Kind::chunk: {
          last_byte_ = now;
          const std::string& data = answer_->chunks[step.chunk];
          plan_after_chunk(now + answer_->chunk_interval, step.chunk + 1, /*first=*/false);
          inline_ok_ = false;
          lock.unlock();
          if (!observer_->on_body(data)) {
            lock.lock();
            if (completed_ || cancelling_) return;
            if (timer_ != 0) scheduler_->cancel(timer_);
            timer_ = 0;
            immediate_.reset();
            lock.unlock();
            complete(ExchangeResult{ErrorKind::cancelled, "stopped by the observer"});
            return;
          }
          break;
        }
        case Kind::finish:
          inline_ok_ = false;
          lock.unlock();
          complete(ExchangeResult{});
          return;
        case Kind::fail:
          inline_ok_ = false;
          lock.unlock();
          complete(ExchangeResult{step.error, std::string(answer_->error && step.error == answer_->error
                                                              ? answer_->message
                                                              : fmt::format("memory: {}", to_string(*step.error)))});
          return;
      }
      lock.lock();
      if (completed_ || cancelling_ || !immediate_) return;
      step = *immediate_;
      immediate_.reset();
    }
  }

  // What follows once `next` chunks were delivered.
  void plan_after_chunk(TimePoint when, std::size_t next, bool first) {
    if (answer_->fail_after_chunks && next == *answer_->fail_after_chunks && answer_->error) {
      plan(first ? when : when - answer_->chunk_interval, Step{Kind::fail, 0, *answer_->error});
    } else if (next < answer_->chunks.size()) {
      plan(first ? when : when, Step{Kind::chunk, next, {}});
    } else {
      plan(first ? when : when - answer_->chunk_interval, Step{Kind::finish, 0, {}});
    }
  }

  void complete(ExchangeResult result) {
    {
      std::lock_guard lock(mutex_);
      if (completed_) return;
      completed_ = true;
      timer_ = 0;
    }
    in_flight_->fetch_sub(1);
    auto observer = std::move(observer_);
    observer->on_complete(std::move(result));
  }

  // Not owned: the scheduler's own timers hold this exchange, so owning it back would make a
  // cycle that a scheduler with unfired timers never frees. Every use runs inside one of its
  // timers or start() (when the transport holds it), except cancel(), which checks it is alive.
  Scheduler* scheduler_;
  std::weak_ptr<Scheduler> scheduler_alive_;
  std::shared_ptr<ExchangeObserver> observer_;
  const std::shared_ptr<const Scripted> answer_;  // shared with the script: no copy per exchange
  const TimePoint deadline_;
  const std::chrono::nanoseconds connect_timeout_;
  const std::optional<std::chrono::nanoseconds> stall_;
  std::shared_ptr<std::atomic<int>> in_flight_;

  std::mutex mutex_;
  bool connected_ = false;
  TimePoint connected_at_{};
  TimePoint last_byte_{};
  TimerId timer_ = 0;
  bool cancelling_ = false;
  bool completed_ = false;
  bool inline_ok_ = false;            // plan() may hand a due step back instead of arming a timer
  std::optional<Step> immediate_;     // that step
};

MemoryTransport::MemoryTransport(std::shared_ptr<Scheduler> scheduler)
    : MemoryTransport(std::move(scheduler), Options{}) {}

MemoryTransport::MemoryTransport(std::shared_ptr<Scheduler> scheduler, Options options)
    : scheduler_(std::move(scheduler)),
      options_(options),
      fallback_(std::make_shared<const Scripted>(Scripted::status_code(404))) {
  if (!scheduler_) throw std::invalid_argument("MemoryTransport: scheduler must be set, got null");
}

MemoryTransport::~MemoryTransport() = default;

void MemoryTransport::script(std::string url, std::vector<Scripted> answers) {
  std::lock_guard lock(mutex_);
  auto& route = routes_[std::move(url)];
  route.answers.clear();
  for (auto& a : answers) route.answers.push_back(std::make_shared<const Scripted>(std::move(a)));
  route.used = 0;
}

void MemoryTransport::script_fallback(Scripted answer) {
  std::lock_guard lock(mutex_);
  fallback_ = std::make_shared<const Scripted>(std::move(answer));
}

int MemoryTransport::attempts(std::string_view url) const {
  std::lock_guard lock(mutex_);
  const auto it = routes_.find(url);
  return it == routes_.end() ? 0 : it->second.attempts;
}

int MemoryTransport::total_attempts() const {
  std::lock_guard lock(mutex_);
  return total_attempts_;
}

std::vector<Request> MemoryTransport::requests(std::string_view url) const {
  std::lock_guard lock(mutex_);
  const auto it = routes_.find(url);
  return it == routes_.end() ? std::vector<Request>{} : it->second.requests;
}

int MemoryTransport::in_flight() const { return in_flight_->load(); }

std::shared_ptr<Exchange> MemoryTransport::start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) {
  std::shared_ptr<const Scripted> answer;
  {
    std::lock_guard lock(mutex_);
    ++total_attempts_;
    auto it = routes_.find(spec.request->url);
    if (it == routes_.end()) {
      it = routes_.emplace(spec.request->url, Route{}).first;
    }
    auto& route = it->second;
    ++route.attempts;
    if (options_.record_requests) route.requests.push_back(*spec.request);
    if (route.answers.empty()) {
      answer = fallback_;
    } else {
      answer = route.answers[std::min(route.used, route.answers.size() - 1)];
      ++route.used;
    }
  }
  in_flight_->fetch_add(1);
  auto exchange = std::make_shared<MemoryExchange>(scheduler_, std::move(observer), std::move(answer), spec, in_flight_);
  exchange->begin();
  return exchange;
}

}  // namespace fetchpipe
