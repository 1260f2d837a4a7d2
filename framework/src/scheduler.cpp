#include "fetchpipe/scheduler.hpp"

#include <algorithm>

namespace fetchpipe {

TimerId Scheduler::schedule_task(TimePoint when, TimerTask task) {
  // std::function needs a copyable callable: share the task instead of copying it.
  return schedule_at(when, [shared = std::make_shared<TimerTask>(std::move(task))] { (*shared)(); });
}

namespace detail {

TimerId TimerQueue::push(TimePoint when, TimerTask fn) {
  // Every allocation happens before the slot goes live: if memory runs out, nothing changed. That
  // includes room in free_ for every slot, so release() (in pop_due, after the callback was moved
  // out) never allocates — a throw there would lose a timer and hang whatever waits on it.
  if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.capacity() * 2 + 16);
  if (free_.empty() && free_.capacity() < slots_.size() + 1) free_.reserve((slots_.size() + 1) * 2);
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  if (++slot.generation == 0) slot.generation = 1;  // never 0, so no id is ever 0
  slot.live = true;
  slot.fn = std::move(fn);
  ++live_;
  const TimerId id = (static_cast<TimerId>(slot.generation) << 32) | index;
  heap_.push_back(Entry{when, seq_++, id});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  return id;
}

TimerQueue::Slot* TimerQueue::live_slot(TimerId id) {
  const auto index = static_cast<std::uint32_t>(id & 0xffffffffu);
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (!slot.live || slot.generation != static_cast<std::uint32_t>(id >> 32)) return nullptr;
  return &slot;
}

void TimerQueue::release(Slot& slot, std::uint32_t index) {
  slot.live = false;
  slot.fn = nullptr;
  free_.push_back(index);
  --live_;
}

bool TimerQueue::cancel(TimerId id) {
  Slot* slot = live_slot(id);
  if (slot == nullptr) return false;
  release(*slot, static_cast<std::uint32_t>(id & 0xffffffffu));
  // Cancelled entries stay in the heap until they reach the top; when far-future timers are
  // cancelled by the thousand (deadlines that were not needed), drop them all at once.
  if (heap_.size() > 1024 && heap_.size() > 4 * live_) compact();
  return true;
}

void TimerQueue::compact() {
  std::erase_if(heap_, [&](const Entry& e) { return live_slot(e.id) == nullptr; });
  std::make_heap(heap_.begin(), heap_.end(), std::greater<>{});
}

void TimerQueue::drop_dead() {
  while (!heap_.empty() && live_slot(heap_.front().id) == nullptr) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

bool TimerQueue::next_due(TimePoint* when) {
  drop_dead();
  if (heap_.empty()) return false;
  *when = heap_.front().when;
  return true;
}

bool TimerQueue::pop_due(TimePoint now, TimerTask* fn, TimePoint* when) {
  drop_dead();
  if (heap_.empty() || heap_.front().when > now) return false;
  std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
  const Entry top = heap_.back();
  heap_.pop_back();
  Slot* slot = live_slot(top.id);
  *fn = std::move(slot->fn);
  release(*slot, static_cast<std::uint32_t>(top.id & 0xffffffffu));
  if (when != nullptr) *when = top.when;
  return true;
}

}  // namespace detail

RealScheduler::RealScheduler()
    : state_(std::make_shared<State>()), thread_([state = state_] { run(*state); }) {}

RealScheduler::~RealScheduler() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // destroyed from one of our own timers: the thread ends after it returns
  } else {
    thread_.join();
  }
}

TimerId RealScheduler::schedule_at(TimePoint when, std::function<void()> fn) {
  return schedule_task(when, TimerTask(std::move(fn)));
}

TimerId RealScheduler::schedule_task(TimePoint when, TimerTask fn) {
  TimerId id = 0;
  bool earliest = false;
  {
    std::lock_guard lock(state_->mutex);
    TimePoint first{};
    earliest = !state_->timers.next_due(&first) || when < first;
    id = state_->timers.push(when, std::move(fn));
  }
  // Only a new earliest timer changes how long the thread must sleep.
  if (earliest) state_->wake.notify_one();
  return id;
}

bool RealScheduler::cancel(TimerId id) {
  std::lock_guard lock(state_->mutex);
  return state_->timers.cancel(id);
}

void RealScheduler::run(State& state) {
  std::unique_lock lock(state.mutex);
  while (!state.stopping) {
    TimerTask fn;
    if (state.timers.pop_due(Clock::now(), &fn)) {
      lock.unlock();
      fn();
      fn = nullptr;  // may release the last reference to the scheduler: `state` stays valid
      lock.lock();
      continue;
    }
    TimePoint next{};
    if (state.timers.next_due(&next)) {
      state.wake.wait_until(lock, next);
    } else {
      state.wake.wait(lock);
    }
  }
  // Timers that never fired are destroyed outside the lock: their captures may call back in.
  detail::TimerQueue leftover = std::move(state.timers);
  state.timers = detail::TimerQueue{};
  lock.unlock();
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
  return schedule_task(when, TimerTask(std::move(fn)));
}

TimerId ManualScheduler::schedule_task(TimePoint when, TimerTask fn) {
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
    TimerTask fn;
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
