// fetchpipe/callbacks.hpp — what a fetch calls back, and the contract it keeps.
//
// The contract, for every fetch() that returns a handle:
//   1. Exactly one of on_success, on_failure, on_cancel runs, exactly once.
//   2. Every callback runs on the client's callback executor, never inside fetch() or cancel().
//      Callbacks of one fetch never overlap and keep their order: on_attempt / on_rewind /
//      on_chunk calls all come before the terminal callback.
//   3. on_chunk receives the body of a response the pipeline accepted (by default 2xx) as it
//      arrives. The bodies of retried or rejected responses are never streamed. Once a chunk was
//      delivered the fetch is *committed*: it is retried only when on_rewind is set (it runs
//      before any byte of the next attempt), otherwise it fails with reason `committed`.
//      Without on_chunk, the body is buffered into Response::body.
//   4. An exception thrown by a callback is caught and handed to the client's exception hook.
//
// Example:
//   std::string body;  // must outlive the fetch: the callbacks write it
//   fetchpipe::Callbacks cb{
//       .on_success = [&](fetchpipe::Response r) { std::cout << "done: " << r.status << '\n'; },
//       .on_failure = [](fetchpipe::Error e) { std::cerr << e.message << '\n'; },
//       .on_cancel = [](fetchpipe::Error) { std::cerr << "cancelled\n"; },  // kind cancelled
//       .on_chunk = [&](std::string_view chunk) { body.append(chunk); },  // instead of r.body
//       .on_rewind = [&] { body.clear(); },  // a retry after bytes arrived starts over
//   };
#pragma once

#include <functional>
#include <string_view>

#include "fetchpipe/error.hpp"
#include "fetchpipe/response.hpp"

namespace fetchpipe {

struct Callbacks {
  std::function<void(Response)> on_success{};
  std::function<void(Error)> on_failure{};
  std::function<void(Error)> on_cancel{};
  // Optional: stream the accepted body instead of buffering it.
  std::function<void(std::string_view chunk)> on_chunk{};
  // Optional: the sink can start over; called before a retry once bytes were delivered.
  std::function<void()> on_rewind{};
  // Optional: each attempt's record, once its outcome and the planned backoff are known.
  std::function<void(const AttemptRecord&)> on_attempt{};
};

}  // namespace fetchpipe
