// fetchpipe/coroutine.hpp — `co_await` a fetch from any C++20 coroutine.
//
// fetch_awaitable(client, request) returns an awaitable that starts the fetch when awaited and
// resumes the coroutine with its Result. It needs nothing from the coroutine's promise type, so
// it works with any task type (yours, Asio's awaitable, cppcoro's, ...). Where it resumes: on the
// client's callback executor, inside the fetch's terminal callback — the coroutine continues on
// that executor's thread until its next suspension, so do not block there (fetch_sync refuses).
// If the coroutine is destroyed while it awaits, the fetch is cancelled and the coroutine is never
// resumed. Destroying the client while a coroutine awaits resumes it (on the executor, before the
// client's destructor returns) with a cancelled Result; it must not use the client after that.
//
// GCC 12 (Debian 12's compiler) miscompiles a braced temporary such as `{.url = u}` written
// inside a co_await expression: it frees the temporary's strings twice. Name the Request first,
// or pass the URL as a string (the overload below does a GET); the same holds for async_fetch.
//
// Example:
//   // `Task` stands for any coroutine type; this one starts eagerly and is never awaited.
//   struct Task {
//     struct promise_type {
//       Task get_return_object() { return {}; }
//       std::suspend_never initial_suspend() noexcept { return {}; }
//       std::suspend_never final_suspend() noexcept { return {}; }
//       void return_void() {}
//       void unhandled_exception() { std::terminate(); }
//     };
//   };
//   auto body_size = [](fetchpipe::Client& c, std::promise<std::size_t>& out) -> Task {
//     fetchpipe::Result r = co_await fetchpipe::fetch_awaitable(c, "http://127.0.0.1:8080/fixed");
//     out.set_value(r ? r->body.size() : 0);  // runs on c's callback executor
//   };
//   std::promise<std::size_t> size;
//   body_size(client, size);
//   std::cout << size.get_future().get() << '\n';
#pragma once

#include <concepts>
#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "fetchpipe/client.hpp"
#include "fetchpipe/result.hpp"

namespace fetchpipe {
namespace detail {

// Shared by the awaitable (in the coroutine's frame) and the fetch's callbacks, so neither side
// outlives what it touches.
struct AwaitState {
  std::mutex mutex;
  std::optional<Result> result;  // set by the terminal callback
  bool abandoned = false;        // the coroutine was destroyed while it awaited
  std::coroutine_handle<> waiter;
  std::stop_source stop;
};

void start_awaited_fetch(Client& client, Request request, const std::shared_ptr<AwaitState>& state);

}  // namespace detail

class FetchAwaitable {
 public:
  FetchAwaitable(Client& client, Request request) : client_(&client), request_(std::move(request)) {}
  FetchAwaitable(FetchAwaitable&&) noexcept = default;
  FetchAwaitable& operator=(FetchAwaitable&&) = delete;
  FetchAwaitable(const FetchAwaitable&) = delete;
  FetchAwaitable& operator=(const FetchAwaitable&) = delete;
  ~FetchAwaitable();

  [[nodiscard]] bool await_ready() const noexcept { return false; }
  // The fetch's callback may resume the coroutine on another thread before this returns: after
  // starting the fetch it touches nothing of the frame.
  void await_suspend(std::coroutine_handle<> waiter);
  [[nodiscard]] Result await_resume();

 private:
  Client* client_;
  Request request_;
  std::shared_ptr<detail::AwaitState> state_;
};

// The fetch starts when the result is co_awaited, not before.
[[nodiscard]] inline FetchAwaitable fetch_awaitable(Client& client, Request request) {
  return FetchAwaitable(client, std::move(request));
}
// A GET of `url`. (A template, so a braced Request never considers this overload.)
template <typename Url>
  requires std::convertible_to<Url, std::string>
[[nodiscard]] FetchAwaitable fetch_awaitable(Client& client, Url&& url) {
  return FetchAwaitable(client, Request{.url = std::string(std::forward<Url>(url))});
}

}  // namespace fetchpipe
