#include "timer_heap.hpp"

#include "transfer.hpp"

namespace fetchpipe::detail {

void TimerHeap::place(std::size_t index, Transfer* transfer) {
  heap_[index] = transfer;
  transfer->heap_index = index;
}

void TimerHeap::sift_up(std::size_t index) {
  Transfer* moving = heap_[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!(moving->timer_key < heap_[parent]->timer_key)) break;
    place(index, heap_[parent]);
    index = parent;
  }
  place(index, moving);
}

void TimerHeap::sift_down(std::size_t index) {
  Transfer* moving = heap_[index];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && heap_[child + 1]->timer_key < heap_[child]->timer_key) ++child;
    if (!(heap_[child]->timer_key < moving->timer_key)) break;
    place(index, heap_[child]);
    index = child;
  }
  place(index, moving);
}

void TimerHeap::schedule(Transfer& transfer) {
  if (transfer.heap_index == kNotQueued) {
    heap_.push_back(&transfer);
    transfer.heap_index = heap_.size() - 1;
    sift_up(transfer.heap_index);
    return;
  }
  sift_up(transfer.heap_index);
  sift_down(transfer.heap_index);
}

void TimerHeap::remove(Transfer& transfer) {
  const std::size_t index = transfer.heap_index;
  if (index == kNotQueued) return;
  transfer.heap_index = kNotQueued;
  Transfer* last = heap_.back();
  heap_.pop_back();
  if (last == &transfer) return;
  place(index, last);
  sift_up(index);
  sift_down(last->heap_index);
}

}  // namespace fetchpipe::detail
