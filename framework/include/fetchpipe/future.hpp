// fetchpipe/future.hpp — a fetch whose outcome arrives as a std::future<Result>.
//
// The future becomes ready when the fetch's terminal callback runs (on the client's callback
// executor). Abandoning the future does not stop the fetch: it runs to its end and the result is
// dropped. To stop it, pass a std::stop_token and request a stop; the future then holds a
// cancelled Result. Destroying the client readies every pending future with a cancelled Result.
// The body is buffered into Response::body (use Callbacks::on_chunk to stream instead).
//
// Example:
//   std::future<fetchpipe::Result> pending = fetchpipe::fetch_future(client, {.url = "http://127.0.0.1:8080/fixed"});
//   // ... other work ...
//   fetchpipe::Result result = pending.get();  // never call get() on the client's callback executor
//   if (result) std::cout << result->status << '\n';
#pragma once

#include <future>
#include <stop_token>

#include "fetchpipe/client.hpp"
#include "fetchpipe/result.hpp"

namespace fetchpipe {

[[nodiscard]] std::future<Result> fetch_future(Client& client, Request request, std::stop_token stop = {});

}  // namespace fetchpipe
