#include "mailbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fetchpipe::detail {

Mailbox::Mailbox() : event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (event_fd_ < 0) {
    throw std::runtime_error(std::string("CurlTransport: eventfd failed: ") + std::strerror(errno));
  }
  queue_.reserve(64);
}

Mailbox::~Mailbox() { ::close(event_fd_); }

bool Mailbox::push(Command command) {
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    was_empty = queue_.empty();
    queue_.push_back(std::move(command));
    pending_.store(true, std::memory_order_release);
  }
  if (was_empty && std::this_thread::get_id() != loop_thread_) wake();
  return true;
}

void Mailbox::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  wake();
}

bool Mailbox::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void Mailbox::take(std::vector<Command>& out) {
  std::lock_guard lock(mutex_);
  out.swap(queue_);
  pending_.store(false, std::memory_order_release);
}

void Mailbox::wake() const {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is saturated, which still leaves the fd readable: nothing lost.
  [[maybe_unused]] const auto n = ::write(event_fd_, &one, sizeof one);
}

void Mailbox::drain_wakeup() const {
  std::uint64_t value = 0;
  [[maybe_unused]] const auto n = ::read(event_fd_, &value, sizeof value);
}

}  // namespace fetchpipe::detail
