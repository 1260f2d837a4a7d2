// mailbox.hpp — how other threads talk to the event loop: a locked vector swapped wholesale,
// plus an eventfd that wakes the loop's epoll_wait.
//
// Producers hold the lock only for a push_back; the loop takes everything queued in one swap, so
// the lock is taken once per batch on its side. The eventfd is written only when the queue turns
// non-empty and the producer is not the loop thread itself (the loop drains the queue at the end
// of every pass, so a start() from inside an observer callback needs no wakeup).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fetchpipe::detail {

class Transfer;

struct Command {
  enum class Kind : unsigned char { start, cancel };
  Kind kind = Kind::start;
  std::shared_ptr<Transfer> transfer;
};

class Mailbox {
 public:
  Mailbox();  // throws std::runtime_error if the eventfd cannot be created
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Queues a command and wakes the loop. Returns false (and queues nothing) once closed.
  bool push(Command command);
  // Refuses every later push and wakes the loop so it notices.
  void close();
  [[nodiscard]] bool closed() const;
  // Loop side: true when commands are waiting (the loop then must not block in epoll_wait, since
  // pushes from the loop thread itself do not write the eventfd).
  [[nodiscard]] bool has_commands() const noexcept { return pending_.load(std::memory_order_acquire); }

  // Loop side: moves every queued command into `out` (which must be empty), keeping capacities.
  void take(std::vector<Command>& out);
  // Loop side: clears the eventfd after epoll reported it readable.
  void drain_wakeup() const;
  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  [[nodiscard]] int wakeup_fd() const noexcept { return event_fd_; }

 private:
  void wake() const;

  mutable std::mutex mutex_;
  std::vector<Command> queue_;
  bool closed_ = false;
  std::atomic<bool> pending_{false};
  int event_fd_ = -1;
  std::thread::id loop_thread_;  // set before the loop starts, read-only afterwards
};

}  // namespace fetchpipe::detail
