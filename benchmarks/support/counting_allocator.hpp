// counting_allocator.hpp — counts every heap allocation of a benchmark binary, so a row can report
// allocations per iteration (counter `allocs`).
//
// Link support/counting_allocator.cpp into the benchmark executable itself (not through a static
// library: the replaced operator new must be linked for sure); it replaces every replaceable
// allocation function and funnels them into one counter.
//
//   fetchpipe::bench::AllocationCounter allocs;
//   for (auto _ : state) { allocs.start(); work(); allocs.pause(); }
//   allocs.report(state);  // state.counters["allocs"], per iteration
#pragma once

#include <cstdint>

#include <benchmark/benchmark.h>

#include "allocation_count.hpp"

namespace fetchpipe::bench {

// Counts allocations over the timed part of a benchmark and reports them per iteration.
class AllocationCounter {
 public:
  void start() noexcept { begin_ = allocation_count(); }
  void pause() noexcept { counted_ += allocation_count() - begin_; }
  void report(benchmark::State& state) const {
    state.counters["allocs"] =
        benchmark::Counter(static_cast<double>(counted_), benchmark::Counter::kAvgIterations);
  }

 private:
  std::uint64_t begin_ = 0;
  std::uint64_t counted_ = 0;
};

}  // namespace fetchpipe::bench
