#include "fetchpipe/future.hpp"

#include <memory>

namespace fetchpipe {

std::future<Result> fetch_future(Client& client, Request request, std::stop_token stop) {
  // The promise is shared with the callbacks, so an abandoned future leaves nothing dangling.
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  client.fetch(std::move(request), callbacks_for([promise](Result r) { promise->set_value(std::move(r)); }),
               std::move(stop));
  return future;
}

}  // namespace fetchpipe
