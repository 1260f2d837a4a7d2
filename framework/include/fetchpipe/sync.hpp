// fetchpipe/sync.hpp — a blocking fetch, for scripts, tools and tests.
//
// fetch_sync starts the fetch and waits for its Result. The wait needs a thread of the client's
// callback executor to deliver the outcome, so calling it from that executor could wait forever;
// it refuses instead, throwing std::logic_error before anything is sent. (It can tell only for
// executors that implement Executor::running_here(): the provided ThreadPoolExecutor and
// ManualExecutor do. With a ManualExecutor, someone else must run it while this thread waits.)
// Inside a callback or a coroutine on the executor, use callbacks or co_await fetch_awaitable().
//
// Example:
//   fetchpipe::Result result = fetchpipe::fetch_sync(client, {.url = "http://127.0.0.1:8080/fixed"});
//   std::cout << (result ? result->body : result.error().message) << '\n';
#pragma once

#include <stop_token>

#include "fetchpipe/client.hpp"
#include "fetchpipe/result.hpp"

namespace fetchpipe {

// Throws std::logic_error when called on the client's own callback executor.
[[nodiscard]] Result fetch_sync(Client& client, Request request, std::stop_token stop = {});

}  // namespace fetchpipe
