// fetchpipe/scheduler.hpp — the clock and the timers every wait goes through.
//
// Backoff waits, deferred callbacks and (in the memory transport) scripted delays are timers on a
// Scheduler; nothing in fetchpipe sleeps to wait. Two are provided:
//   - RealScheduler: steady_clock, one timer thread; timer callbacks run on that thread and must
//     be short (they post work or start an attempt).
//   - ManualScheduler: virtual time for tests; advance() fires due timers in time order on the
//     calling thread, so a test controls every race and never sleeps.
//
// Example:
//   fetchpipe::ManualScheduler clock;
//   clock.schedule_after(100ms, [] { std::puts("fired"); });
//   clock.advance(100ms);  // prints "fired", at once
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fetchpipe/timer_task.hpp"

namespace fetchpipe {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using TimerId = std::uint64_t;

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  [[nodiscard]] virtual TimePoint now() const = 0;
  // Wall-clock time matching now(), for HTTP dates (Retry-After).
  [[nodiscard]] virtual std::chrono::system_clock::time_point system_now() const = 0;

  // Runs `fn` once at or after `when`. Thread-safe; may be called from inside a timer callback.
  // Returns an id for cancel(). Ids are never 0.
  virtual TimerId schedule_at(TimePoint when, std::function<void()> fn) = 0;
  TimerId schedule_after(std::chrono::nanoseconds delay, std::function<void()> fn) {
    return schedule_at(now() + delay, std::move(fn));
  }
  // schedule_at() for a move-only task whose captures stay in place (see timer_task.hpp): the
  // pipeline's own timers come through here. RealScheduler and ManualScheduler store the task as
  // it is, so a timer whose closure holds a std::shared_ptr allocates nothing. A scheduler that
  // does not override it gets the task wrapped into a std::function (one allocation more).
  virtual TimerId schedule_task(TimePoint when, TimerTask task);
  // Cancels a timer that has not started to run. Returns true when it will not run; false when
  // it already ran, is running, or was never scheduled.
  virtual bool cancel(TimerId id) = 0;
};

namespace detail {
// A min-heap of timers with O(log n) insert and lazy cancellation, shared by both schedulers.
// Callbacks live in a slot array reused through a free list, so a timer costs no allocation of
// its own beyond what its std::function needs; an id carries its slot and that slot's generation,
// so a stale id can never cancel a newer timer.
class TimerQueue {
 public:
  TimerId push(TimePoint when, TimerTask fn);
  bool cancel(TimerId id);
  // Earliest live deadline, if any.
  [[nodiscard]] bool next_due(TimePoint* when);
  // Pops the earliest live timer due at or before `now`.
  bool pop_due(TimePoint now, TimerTask* fn, TimePoint* when = nullptr);
  [[nodiscard]] std::size_t size() const noexcept { return live_; }

 private:
  struct Entry {
    TimePoint when;
    std::uint64_t seq;  // ties at the same time fire in scheduling order
    TimerId id;
    bool operator>(const Entry& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  struct Slot {
    std::uint32_t generation = 0;
    bool live = false;
    TimerTask fn;
  };
  [[nodiscard]] Slot* live_slot(TimerId id);
  void release(Slot& slot, std::uint32_t index);
  void drop_dead();

  void compact();

  std::vector<Entry> heap_;  // a min-heap by (when, seq), kept with std::push_heap/pop_heap
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
  std::uint64_t seq_ = 0;
};
}  // namespace detail

class RealScheduler final : public Scheduler {
 public:
  RealScheduler();
  // Stops the timer thread; timers that have not fired never do. Safe even when the last
  // reference goes away on the timer thread itself (a timer callback releasing it): the thread is
  // then detached and finishes on its own.
  ~RealScheduler() override;
  RealScheduler(const RealScheduler&) = delete;
  RealScheduler& operator=(const RealScheduler&) = delete;

  [[nodiscard]] TimePoint now() const override { return Clock::now(); }
  [[nodiscard]] std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::now();
  }
  TimerId schedule_at(TimePoint when, std::function<void()> fn) override;
  TimerId schedule_task(TimePoint when, TimerTask task) override;
  bool cancel(TimerId id) override;

 private:
  // Shared with the timer thread, so the thread can outlive this object (see the destructor).
  struct State {
    std::mutex mutex;
    std::condition_variable wake;
    detail::TimerQueue timers;
    bool stopping = false;
  };
  static void run(State& state);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

class ManualScheduler final : public Scheduler {
 public:
  // Virtual time starts at an arbitrary fixed steady time point and at `wall_start`.
  explicit ManualScheduler(std::chrono::system_clock::time_point wall_start =
                               std::chrono::system_clock::time_point{std::chrono::hours{490'000}});

  [[nodiscard]] TimePoint now() const override;
  [[nodiscard]] std::chrono::system_clock::time_point system_now() const override;
  TimerId schedule_at(TimePoint when, std::function<void()> fn) override;
  TimerId schedule_task(TimePoint when, TimerTask task) override;
  bool cancel(TimerId id) override;

  // Moves virtual time forward by `delta`, firing every timer due on the way in time order (the
  // clock reads each timer's due time while it runs). Returns how many fired.
  std::size_t advance(std::chrono::nanoseconds delta);
  // Fires timers due now (including ones scheduled for now by those timers). Returns how many.
  std::size_t run_due();
  // Advances to the next timer and fires everything due then; false when no timer is pending.
  bool run_next();
  [[nodiscard]] std::size_t pending() const;

 private:
  mutable std::mutex mutex_;
  detail::TimerQueue timers_;
  TimePoint now_;
  std::chrono::system_clock::time_point wall_start_;
  TimePoint start_;
};

}  // namespace fetchpipe
