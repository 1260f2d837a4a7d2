#include "fetchpipe/timer_task.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <future>
#include <memory>

#include "fetchpipe/scheduler.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;

// Whether the object at `p` lies inside `task`'s own bytes (kept in place, not on the heap).
bool inside(const TimerTask& task, const void* p) {
  const auto* begin = reinterpret_cast<const unsigned char*>(&task);
  const auto* at = static_cast<const unsigned char*>(p);
  return at >= begin && at < begin + sizeof(TimerTask);
}

// A callable that reports where it lives when called.
struct WhereAmI {
  const void** seen;
  std::shared_ptr<int> keep;
  void operator()() const { *seen = this; }
};

struct Big {
  const void** seen;
  std::array<char, TimerTask::kInlineBytes + 8> padding{};
  void operator()() const { *seen = this; }
};

TEST(TimerTask, SmallCallableWithASharedPtrLivesInPlace) {
  static_assert(TimerTask::fits_inline<WhereAmI>());
  static_assert(TimerTask::fits_inline<std::function<void()>>());
  const void* seen = nullptr;
  TimerTask task(WhereAmI{&seen, std::make_shared<int>(1)});
  task();
  EXPECT_TRUE(inside(task, seen));
}

TEST(TimerTask, LargeCallableGoesToTheHeapAndStillRuns) {
  static_assert(!TimerTask::fits_inline<Big>());
  const void* seen = nullptr;
  TimerTask task(Big{&seen});
  task();
  ASSERT_NE(seen, nullptr);
  EXPECT_FALSE(inside(task, seen));
  TimerTask moved(std::move(task));
  const void* before = seen;
  moved();
  EXPECT_EQ(seen, before) << "moving a heap-held callable moves the pointer, not the callable";
}

TEST(TimerTask, MoveCarriesTheCallableAndEmptiesTheSource) {
  auto count = std::make_shared<int>(0);
  TimerTask a([count] { ++*count; });
  TimerTask b(std::move(a));
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): a moved-from task is empty by contract
  ASSERT_TRUE(static_cast<bool>(b));
  b();
  TimerTask c;
  c = std::move(b);
  c();
  EXPECT_EQ(*count, 2);
  EXPECT_EQ(count.use_count(), 2) << "one copy of the capture, in c";
  auto& self = c;
  c = std::move(self);  // self-move keeps the callable
  c();
  EXPECT_EQ(*count, 3);
}

TEST(TimerTask, DestroyingOrClearingReleasesTheCaptures) {
  auto count = std::make_shared<int>(0);
  {
    TimerTask task([count] { ++*count; });
    EXPECT_EQ(count.use_count(), 2);
  }
  EXPECT_EQ(count.use_count(), 1);
  TimerTask task([count] { ++*count; });
  task = nullptr;
  EXPECT_EQ(count.use_count(), 1);
  EXPECT_FALSE(static_cast<bool>(task));
  TimerTask other([count] { ++*count; });
  other = TimerTask([] {});  // assigning over a task destroys the old callable
  EXPECT_EQ(count.use_count(), 1);
}

TEST(TimerTask, EmptyFunctionsMakeAnEmptyTaskThatThrowsWhenCalled) {
  TimerTask from_function{std::function<void()>{}};
  EXPECT_FALSE(static_cast<bool>(from_function));
  void (*null_pointer)() = nullptr;
  TimerTask from_pointer{null_pointer};
  EXPECT_FALSE(static_cast<bool>(from_pointer));
  EXPECT_THROW(from_function(), std::bad_function_call);
  EXPECT_THROW(TimerTask{}(), std::bad_function_call);
}

TEST(TimerTask, ExceptionFromTheCallablePropagates) {
  TimerTask task([] { throw std::runtime_error("boom"); });
  EXPECT_THROW(task(), std::runtime_error);
}

TEST(ManualScheduler, ScheduleTaskFiresInTimeOrderWithScheduleAt) {
  ManualScheduler clock;
  std::vector<int> order;
  clock.schedule_task(clock.now() + 2ms, TimerTask([&] { order.push_back(2); }));
  clock.schedule_at(clock.now() + 1ms, [&] { order.push_back(1); });
  const auto id = clock.schedule_task(clock.now() + 3ms, TimerTask([&] { order.push_back(3); }));
  EXPECT_TRUE(clock.cancel(id));
  EXPECT_EQ(clock.advance(5ms), 2U);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(ManualScheduler, UnfiredTaskReleasesItsCapturesWithTheScheduler) {
  auto keep = std::make_shared<int>(0);
  {
    ManualScheduler clock;
    clock.schedule_task(clock.now() + 1s, [keep] { ++*keep; });
    EXPECT_EQ(keep.use_count(), 2);
  }
  EXPECT_EQ(keep.use_count(), 1);
  EXPECT_EQ(*keep, 0);
}

TEST(RealScheduler, ScheduleTaskRunsOnItsThread) {
  RealScheduler scheduler;
  std::promise<std::thread::id> ran;
  scheduler.schedule_task(scheduler.now() + 1ms, [&ran] { ran.set_value(std::this_thread::get_id()); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

// A user's scheduler that knows only schedule_at(): schedule_task() still works through it.
class OnlyScheduleAt final : public Scheduler {
 public:
  [[nodiscard]] TimePoint now() const override { return inner.now(); }
  [[nodiscard]] std::chrono::system_clock::time_point system_now() const override { return inner.system_now(); }
  TimerId schedule_at(TimePoint when, std::function<void()> fn) override {
    ++scheduled;
    return inner.schedule_at(when, std::move(fn));
  }
  bool cancel(TimerId id) override { return inner.cancel(id); }
  ManualScheduler inner;
  int scheduled = 0;
};

TEST(Scheduler, DefaultScheduleTaskGoesThroughScheduleAt) {
  OnlyScheduleAt scheduler;
  auto count = std::make_shared<int>(0);
  Scheduler& base = scheduler;
  base.schedule_task(scheduler.now() + 1ms, [count] { ++*count; });
  const auto cancelled = base.schedule_task(scheduler.now() + 1ms, [count] { ++*count; });
  EXPECT_EQ(scheduler.scheduled, 2);
  EXPECT_TRUE(base.cancel(cancelled));
  scheduler.inner.advance(1ms);
  EXPECT_EQ(*count, 1);
  EXPECT_EQ(count.use_count(), 1) << "the fired and the cancelled task both released their captures";
}

}  // namespace
}  // namespace fetchpipe
