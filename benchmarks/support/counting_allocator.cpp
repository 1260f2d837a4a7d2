#include "allocation_count.hpp"

#include <execinfo.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

// Every replaceable allocation function funnels into these two, so nothing escapes the count.
namespace {
std::atomic<std::uint64_t> g_allocations{0};
std::atomic<bool> g_trace{false};

void trace_allocation(std::size_t size) {
  g_trace.store(false);  // backtrace() may allocate the first time: do not recurse
  void* frames[24];
  const int n = backtrace(frames, 24);
  std::fprintf(stderr, "-- allocation of %zu bytes\n", size);
  if (n > 2) backtrace_symbols_fd(frames + 2, n - 2, 2);
  g_trace.store(true);
}

void* counted_alloc(std::size_t size, std::align_val_t align, bool nothrow) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (g_trace.load(std::memory_order_relaxed)) trace_allocation(size);
  if (size == 0) size = 1;
  void* p = nullptr;
  const auto a = static_cast<std::size_t>(align);
  if (a <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else if (posix_memalign(&p, a, size) != 0) {
    p = nullptr;
  }
  if (p == nullptr && !nothrow) throw std::bad_alloc();
  return p;
}
constexpr auto kDefaultAlign = std::align_val_t{alignof(std::max_align_t)};
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, kDefaultAlign, false); }
void* operator new[](std::size_t n) { return counted_alloc(n, kDefaultAlign, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, kDefaultAlign, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, kDefaultAlign, true); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, a, false); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, a, false); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return counted_alloc(n, a, true); }
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return counted_alloc(n, a, true); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace fetchpipe::bench {

std::uint64_t allocation_count() noexcept { return g_allocations.load(std::memory_order_relaxed); }
void trace_allocations(bool on) noexcept { g_trace.store(on); }

}  // namespace fetchpipe::bench
