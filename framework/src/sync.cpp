#include "fetchpipe/sync.hpp"

#include <stdexcept>

#include "fetchpipe/future.hpp"

namespace fetchpipe {

Result fetch_sync(Client& client, Request request, std::stop_token stop) {
  if (client.options().callback_executor->running_here()) {
    throw std::logic_error(
        "fetchpipe::fetch_sync called on the client's own callback executor: the wait would block "
        "the thread that must deliver the result; use callbacks, fetch_future without waiting here, "
        "or co_await fetch_awaitable");
  }
  return fetch_future(client, std::move(request), std::move(stop)).get();
}

}  // namespace fetchpipe
