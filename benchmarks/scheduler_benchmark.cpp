// scheduler_benchmark — schedule, cancel and fire 1,000,000 timers on each Scheduler.
//
//   Manual/schedule     1M schedule_at() calls with scattered deadlines (virtual time)
//   Manual/cancel       cancel() of 1M pending timers, in scattered order
//   Manual/fire         advance() past 1M pending timers: each fires once, in time order
//   Real/schedule       1M schedule_at() calls an hour ahead (the timer thread stays asleep)
//   Real/cancel         cancel() of 1M pending timers
//   Real/schedule_fire  1M timers already due, from schedule_at() until the last one has run on
//                       the timer thread (scheduling and firing overlap, as in a busy client)
//
// Only the named phase is timed (manual time); counters: items_per_second and ns per timer.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "fetchpipe/scheduler.hpp"

namespace {

using namespace std::chrono_literals;
using fetchpipe::TimerId;
using fetchpipe::TimePoint;

constexpr std::size_t kTimers = 1'000'000;

// Scattered offsets in [0, 10 s), the same every run.
const std::vector<std::chrono::nanoseconds>& offsets() {
  static const auto values = [] {
    std::vector<std::chrono::nanoseconds> v(kTimers);
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::int64_t> pick(0, 10'000'000'000);
    for (auto& o : v) o = std::chrono::nanoseconds{pick(rng)};
    return v;
  }();
  return values;
}

std::vector<std::size_t> scattered_order() {
  std::vector<std::size_t> order(kTimers);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  return order;
}

void report(benchmark::State& state, double seconds_total) {
  const double timers = static_cast<double>(state.iterations()) * static_cast<double>(kTimers);
  state.SetItemsProcessed(static_cast<std::int64_t>(timers));
  state.counters["ns_per_timer"] = seconds_total * 1e9 / timers;
}

template <typename Fn>
double time_it(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Counter {
  std::atomic<std::uint64_t> fired{0};
};

// ---- ManualScheduler -------------------------------------------------------------------------

void BM_ManualSchedule(benchmark::State& state) {
  double total = 0;
  for (auto _ : state) {
    auto clock = std::make_unique<fetchpipe::ManualScheduler>();
    Counter counter;
    const TimePoint base = clock->now();
    const double s = time_it([&] {
      for (const auto o : offsets()) clock->schedule_at(base + o, [&counter] { ++counter.fired; });
    });
    state.SetIterationTime(s);
    total += s;
    clock.reset();
  }
  report(state, total);
}

void BM_ManualCancel(benchmark::State& state) {
  const auto order = scattered_order();
  double total = 0;
  for (auto _ : state) {
    fetchpipe::ManualScheduler clock;
    Counter counter;
    std::vector<TimerId> ids;
    ids.reserve(kTimers);
    const TimePoint base = clock.now();
    for (const auto o : offsets()) ids.push_back(clock.schedule_at(base + o, [&counter] { ++counter.fired; }));
    std::size_t cancelled = 0;
    const double s = time_it([&] {
      for (const auto i : order) cancelled += clock.cancel(ids[i]) ? 1 : 0;
    });
    if (cancelled != kTimers || clock.pending() != 0) state.SkipWithError("not every timer was cancelled");
    state.SetIterationTime(s);
    total += s;
  }
  report(state, total);
}

void BM_ManualFire(benchmark::State& state) {
  double total = 0;
  for (auto _ : state) {
    fetchpipe::ManualScheduler clock;
    Counter counter;
    const TimePoint base = clock.now();
    for (const auto o : offsets()) clock.schedule_at(base + o, [&counter] { ++counter.fired; });
    std::size_t fired = 0;
    const double s = time_it([&] { fired = clock.advance(11s); });
    if (fired != kTimers || counter.fired.load() != kTimers) state.SkipWithError("not every timer fired");
    state.SetIterationTime(s);
    total += s;
  }
  report(state, total);
}

// ---- RealScheduler ---------------------------------------------------------------------------

void BM_RealSchedule(benchmark::State& state) {
  double total = 0;
  for (auto _ : state) {
    auto clock = std::make_unique<fetchpipe::RealScheduler>();
    Counter counter;
    const TimePoint base = clock->now() + 1h;
    const double s = time_it([&] {
      for (const auto o : offsets()) clock->schedule_at(base + o, [&counter] { ++counter.fired; });
    });
    state.SetIterationTime(s);
    total += s;
    clock.reset();  // cancels them all, untimed
  }
  report(state, total);
}

void BM_RealCancel(benchmark::State& state) {
  const auto order = scattered_order();
  double total = 0;
  for (auto _ : state) {
    fetchpipe::RealScheduler clock;
    Counter counter;
    std::vector<TimerId> ids;
    ids.reserve(kTimers);
    const TimePoint base = clock.now() + 1h;
    for (const auto o : offsets()) ids.push_back(clock.schedule_at(base + o, [&counter] { ++counter.fired; }));
    std::size_t cancelled = 0;
    const double s = time_it([&] {
      for (const auto i : order) cancelled += clock.cancel(ids[i]) ? 1 : 0;
    });
    if (cancelled != kTimers) state.SkipWithError("not every timer was cancelled");
    state.SetIterationTime(s);
    total += s;
  }
  report(state, total);
}

void BM_RealScheduleFire(benchmark::State& state) {
  double total = 0;
  for (auto _ : state) {
    fetchpipe::RealScheduler clock;
    Counter counter;
    const double s = time_it([&] {
      const TimePoint due = clock.now();
      for (std::size_t i = 0; i < kTimers; ++i) {
        clock.schedule_at(due, [&counter] { counter.fired.fetch_add(1, std::memory_order_release); });
      }
      // Bounded wait for the timer thread to run the last one.
      const auto give_up = std::chrono::steady_clock::now() + 60s;
      while (counter.fired.load(std::memory_order_acquire) < kTimers && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
    });
    if (counter.fired.load() != kTimers) state.SkipWithError("not every timer fired within 60 s");
    state.SetIterationTime(s);
    total += s;
  }
  report(state, total);
}

}  // namespace

BENCHMARK(BM_ManualSchedule)->Name("Manual/schedule")->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ManualCancel)->Name("Manual/cancel")->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ManualFire)->Name("Manual/fire")->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealSchedule)->Name("Real/schedule")->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealCancel)->Name("Real/cancel")->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealScheduleFire)
    ->Name("Real/schedule_fire")
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
