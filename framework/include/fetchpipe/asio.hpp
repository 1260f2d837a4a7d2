// fetchpipe/asio.hpp — fetches as Asio asynchronous operations (optional; needs standalone Asio,
// Debian's libasio-dev; header-only, nothing to link beyond fetchpipe).
//
// async_fetch(client, request, token) is an Asio initiating function with the completion
// signature void(fetchpipe::Result). Any completion token works: a plain handler,
// asio::use_awaitable (co_await gives the Result), asio::use_future (a std::future<Result>),
// asio::deferred (spelt asio::experimental::deferred before Asio 1.24), and the adapters around
// them. The fetch starts when the operation is initiated (at once, or when a deferred operation
// is launched).
//   - Completion: on the handler's associated executor (the coroutine's executor for
//     use_awaitable; asio::system_executor for a handler with none), never inside async_fetch.
//     Outstanding work is tracked, so an io_context's run() does not return while a fetch runs.
//   - Cancellation: a terminal or partial cancellation emitted on the handler's associated
//     cancellation slot calls FetchHandle::cancel(): the handler then receives a Result with
//     kind `cancelled` (unless the outcome was already decided). Total cancellation is not
//     supported (a cancelled fetch may have reached the server) and is ignored.
//   - Destroying the client completes every pending operation with a cancelled Result.
// With GCC 12, do not write a braced Request such as `{.url = u}` inside a co_await expression
// (see coroutine.hpp): name it first, or pass the URL string for a GET.
//
// Example:
//   #include <asio.hpp>
//   asio::io_context io;
//   asio::co_spawn(io, [&client]() -> asio::awaitable<void> {
//     fetchpipe::Result r = co_await fetchpipe::async_fetch(client, "http://127.0.0.1:8080/fixed", asio::use_awaitable);
//     std::cout << (r ? r->status : 0) << '\n';  // back on io's thread
//   }, asio::detached);
//   io.run();  // returns once the coroutine (and so the fetch) is done
#pragma once

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <concepts>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

#include "fetchpipe/client.hpp"
#include "fetchpipe/result.hpp"

namespace fetchpipe {
namespace detail {

// One asio fetch: the handler waits here for the terminal callback. The fetch's callbacks keep
// this object alive until the client drops them (on its own thread, possibly after the handler's
// execution context is gone), so everything of Asio's leaves it on the handler's executor.
template <typename Handler>
struct AsioFetch : std::enable_shared_from_this<AsioFetch<Handler>> {
  using Executor = ::asio::associated_executor_t<Handler>;
  // Keeps the handler's execution context running (io_context::run() would return otherwise).
  using WorkExecutor = std::decay_t<decltype(::asio::prefer(std::declval<Executor>(),
                                                            ::asio::execution::outstanding_work.tracked))>;

  explicit AsioFetch(Handler&& h) : handler(std::move(h)) {
    work.emplace(::asio::prefer(::asio::get_associated_executor(*handler), ::asio::execution::outstanding_work.tracked));
  }

  std::optional<Handler> handler;
  std::optional<WorkExecutor> work;
  std::stop_source stop;  // the cancellation slot requests a stop; the fetch observes it

  // Runs on the client's callback executor; hands the Result over to the handler's executor.
  void complete(Result result) {
    auto self = this->shared_from_this();
    ::asio::post(*work, [self, result = std::move(result)]() mutable {
      // On the handler's executor. The slot belongs to this side: clear it before the handler
      // runs. The work guard is dropped last, after the handler and its executor.
      auto slot = ::asio::get_associated_cancellation_slot(*self->handler);
      if (slot.is_connected()) slot.clear();
      [[maybe_unused]] WorkExecutor work_until_done = std::move(*self->work);
      self->work.reset();
      Handler h = std::move(*self->handler);
      self->handler.reset();
      self.reset();
      std::move(h)(std::move(result));
    });
  }
};

// Installed in the handler's cancellation slot; the slot destroys it when cleared.
struct AsioCancelFetch {
  std::stop_source stop;
  void operator()(::asio::cancellation_type type) {
    if ((type & (::asio::cancellation_type::terminal | ::asio::cancellation_type::partial)) !=
        ::asio::cancellation_type::none) {
      stop.request_stop();
    }
  }
};

template <typename Handler>
void start_asio_fetch(Client& client, Request request, Handler&& handler) {
  auto op = std::make_shared<AsioFetch<std::decay_t<Handler>>>(std::forward<Handler>(handler));
  auto slot = ::asio::get_associated_cancellation_slot(*op->handler);
  if (slot.is_connected()) {
    slot.template emplace<AsioCancelFetch>(AsioCancelFetch{op->stop});
  }
  client.fetch(std::move(request), callbacks_for([op](Result r) { op->complete(std::move(r)); }),
               op->stop.get_token());
}

}  // namespace detail

template <typename CompletionToken>
auto async_fetch(Client& client, Request request, CompletionToken&& token) {
  return ::asio::async_initiate<CompletionToken, void(Result)>(
      [&client](auto&& handler, Request req) {
        detail::start_asio_fetch(client, std::move(req), std::forward<decltype(handler)>(handler));
      },
      token, std::move(request));
}

// A GET of `url`. (A template, so a braced Request never considers this overload.)
template <typename Url, typename CompletionToken>
  requires std::convertible_to<Url, std::string>
auto async_fetch(Client& client, Url&& url, CompletionToken&& token) {
  return async_fetch(client, Request{.url = std::string(std::forward<Url>(url))},
                     std::forward<CompletionToken>(token));
}

}  // namespace fetchpipe
