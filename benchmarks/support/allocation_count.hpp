// allocation_count.hpp — the process-wide allocation count of a binary that links
// support/counting_allocator.cpp (benchmarks, and the test that holds the pipeline to its
// allocation budget). No Google Benchmark here: tests include it too.
#pragma once

#include <cstdint>

namespace fetchpipe::bench {

// Allocations made by the process so far.
[[nodiscard]] std::uint64_t allocation_count() noexcept;
// While on, every allocation prints its call stack to stderr (frames as `binary(+offset)`).
void trace_allocations(bool on) noexcept;

}  // namespace fetchpipe::bench
