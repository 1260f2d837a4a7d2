#include "fetchpipe/scheduler.hpp"

namespace fetchpipe {
namespace detail {

TimerId TimerQueue::push(TimePoint when, std::function<void()> fn) {
  const TimerId id = next_id_++;
  live_.emplace(id, std::move(fn));
  heap_.push(Entry{when, id});
  return id;
}

bool TimerQueue::cancel(TimerId id) { return live_.erase(id) > 0; }

void TimerQueue::drop_dead() {
  while (!heap_.empty() && !live_.contains(heap_.top().id)) heap_.pop();
}

bool TimerQueue::next_due(TimePoint* when) {
  drop_dead();
  if (heap_.empty()) return false;
  *when = heap_.top().when;
  return true;
}

bool TimerQueue::pop_due(TimePoint now, std::function<void()>* fn, TimePoint* when) {
  drop_dead();
  if (heap_.empty() || heap_.top().when > now) return false;
  const Entry top = heap_.top();
  heap_.pop();
  auto it = live_.find(top.id);
  *fn = std::move(it->second);
  live_.erase(it);
  if (when != nullptr) *when = top.when;
  return true;
}

}  // namespace detail

RealScheduler::RealScheduler() : thread_([this] { run(); }) {}

RealScheduler::~RealScheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

TimerId RealScheduler::schedule_at(TimePoint when, std::function<void()> fn) {
  TimerId id = 0;
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    TimePoint first{};
    earliest = !timers_.next_due(&first) || when < first;
    id = timers_.push(when, std::move(fn));
  }
  // Only a new earliest timer changes how long the thread must sleep.
  if (earliest) wake_.notify_one();
  return id;
}

bool RealScheduler::cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  return timers_.cancel(id);
}

void RealScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::function<void()> fn;
    if (timers_.pop_due(Clock::now(), &fn)) {
      lock.unlock();
      fn();
      fn = nullptr;
      lock.lock();
      continue;
    }
    TimePoint next{};
    if (timers_.next_due(&next)) {
      wake_.wait_until(lock, next);
    } else {
      wake_.wait(lock);
    }
  }
}

ManualScheduler::ManualScheduler(std::chrono::system_clock::time_point wall_start)
    : now_(TimePoint{std::chrono::hours{1000}}), wall_start_(wall_start), start_(now_) {}

TimePoint ManualScheduler::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

std::chrono::system_clock::time_point ManualScheduler::system_now() const {
  std::lock_guard lock(mutex_);
  return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - start_);
}

TimerId ManualScheduler::schedule_at(TimePoint when, std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  return timers_.push(when, std::move(fn));
}

bool ManualScheduler::cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  return timers_.cancel(id);
}

std::size_t ManualScheduler::advance(std::chrono::nanoseconds delta) {
  TimePoint target;
  {
    std::lock_guard lock(mutex_);
    target = now_ + delta;
  }
  std::size_t fired = 0;
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard lock(mutex_);
      TimePoint when{};
      if (!timers_.pop_due(target, &fn, &when)) {
        now_ = target;
        return fired;
      }
      if (when > now_) now_ = when;
    }
    fn();
    ++fired;
  }
}

std::size_t ManualScheduler::run_due() { return advance(std::chrono::nanoseconds{0}); }

bool ManualScheduler::run_next() {
  TimePoint next{};
  std::chrono::nanoseconds delta{0};
  {
    std::lock_guard lock(mutex_);
    if (!timers_.next_due(&next)) return false;
    delta = next > now_ ? next - now_ : std::chrono::nanoseconds{0};
  }
  advance(delta);
  return true;
}

std::size_t ManualScheduler::pending() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

}  // namespace fetchpipe
