// timer_heap.hpp — per-transfer deadlines (exchange deadline, stall) for the event loop.
//
// libcurl offers one timer per multi handle, and CURLOPT_TIMEOUT_MS would count time spent queued
// behind connection limits, so fetchpipe keeps its own min-heap of transfers keyed by the next
// moment one of its clocks could fire. The heap is intrusive (each transfer knows its index), so
// a finished transfer leaves at once and the heap never holds more than the transfers in flight.
// The stall clock moves on every body chunk, but the key is not: when a transfer surfaces early,
// the loop recomputes its key and pushes it back down. Loop thread only.
#pragma once

#include <cstddef>
#include <vector>

#include "fetchpipe/scheduler.hpp"

namespace fetchpipe::detail {

class Transfer;

class TimerHeap {
 public:
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);

  // Inserts the transfer, or moves it after its timer_key changed.
  void schedule(Transfer& transfer);
  // Takes the transfer out; no effect if it is not queued.
  void remove(Transfer& transfer);
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  // The transfer with the earliest key; the heap must not be empty.
  [[nodiscard]] Transfer& top() const noexcept { return *heap_.front(); }

 private:
  void sift_up(std::size_t index);
  void sift_down(std::size_t index);
  void place(std::size_t index, Transfer* transfer);

  std::vector<Transfer*> heap_;
};

}  // namespace fetchpipe::detail
