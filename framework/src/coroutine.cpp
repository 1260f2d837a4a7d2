#include "fetchpipe/coroutine.hpp"

namespace fetchpipe {
namespace detail {

void start_awaited_fetch(Client& client, Request request, const std::shared_ptr<AwaitState>& state) {
  client.fetch(std::move(request), callbacks_for([state](Result r) {
                 std::coroutine_handle<> waiter;
                 {
                   std::lock_guard lock(state->mutex);
                   if (state->abandoned) return;  // the frame is gone: nobody to resume
                   state->result.emplace(std::move(r));
                   waiter = state->waiter;
                 }
                 waiter.resume();  // on the callback executor, as documented
               }),
               state->stop.get_token());
}

}  // namespace detail

FetchAwaitable::~FetchAwaitable() {
  if (!state_) return;  // never awaited (or moved from)
  {
    std::lock_guard lock(state_->mutex);
    if (state_->result) return;  // delivered: the fetch is over
    // Destroyed while suspended: the callback must not resume a frame that no longer exists.
    state_->abandoned = true;
  }
  state_->stop.request_stop();  // cancels the fetch; its on_cancel then finds `abandoned`
}

void FetchAwaitable::await_suspend(std::coroutine_handle<> waiter) {
  auto state = std::make_shared<detail::AwaitState>();
  state->waiter = waiter;
  state_ = state;
  // From here on `this` may already be resumed or destroyed on the callback executor.
  detail::start_awaited_fetch(*client_, std::move(request_), state);
}

Result FetchAwaitable::await_resume() {
  std::lock_guard lock(state_->mutex);
  return std::move(*state_->result);
}

}  // namespace fetchpipe
