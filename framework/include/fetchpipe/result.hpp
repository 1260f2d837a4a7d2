// fetchpipe/result.hpp — the outcome of one fetch as a value: a Response or an Error.
//
// `Result` is what the non-callback forms hand back (fetch_future, fetch_sync, the coroutine
// awaitable, the Asio adapter). It reads like C++23's std::expected<Response, Error>, and works in
// C++20: test it, then take the response or the error. A cancelled fetch is an error whose kind is
// `cancelled` (see `cancelled()`).
//
// Example:
//   fetchpipe::Result result = fetchpipe::fetch_sync(client, {.url = "http://127.0.0.1:8080/fixed"});
//   if (result) {
//     std::cout << result->status << ' ' << result->body.size() << " bytes\n";
//   } else {
//     std::cerr << result.error().message << '\n';  // kind, reason, attempts: see error.hpp
//   }
//   // value() throws fetchpipe::FetchFailed (carrying the Error) when there is no response.
#pragma once

#include <functional>
#include <stdexcept>
#include <utility>
#include <variant>

#include "fetchpipe/callbacks.hpp"
#include "fetchpipe/error.hpp"
#include "fetchpipe/response.hpp"

namespace fetchpipe {

// Thrown by Result::value() when the fetch failed or was cancelled; what() is the error's message.
class FetchFailed : public std::runtime_error {
 public:
  explicit FetchFailed(Error error);
  [[nodiscard]] const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

class Result {
 public:
  Result(Response response) : outcome_(std::in_place_index<0>, std::move(response)) {}  // NOLINT: implicit on purpose
  Result(Error error) : outcome_(std::in_place_index<1>, std::move(error)) {}            // NOLINT: implicit on purpose

  [[nodiscard]] bool has_value() const noexcept { return outcome_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  // True when the fetch ended by cancellation (an error of kind `cancelled`).
  [[nodiscard]] bool cancelled() const noexcept {
    return !has_value() && std::get<1>(outcome_).kind == ErrorKind::cancelled;
  }

  // The response; throws FetchFailed with the error when there is none.
  [[nodiscard]] Response& value() &;
  [[nodiscard]] const Response& value() const&;
  [[nodiscard]] Response&& value() &&;
  // The error; throws std::logic_error when the fetch succeeded (std::expected leaves that
  // undefined; a clear exception is cheaper to debug).
  [[nodiscard]] Error& error() &;
  [[nodiscard]] const Error& error() const&;
  [[nodiscard]] Error&& error() &&;

  // Unchecked access, as with std::expected: only after testing has_value().
  [[nodiscard]] Response& operator*() & noexcept { return *std::get_if<0>(&outcome_); }
  [[nodiscard]] const Response& operator*() const& noexcept { return *std::get_if<0>(&outcome_); }
  [[nodiscard]] Response* operator->() noexcept { return std::get_if<0>(&outcome_); }
  [[nodiscard]] const Response* operator->() const noexcept { return std::get_if<0>(&outcome_); }

 private:
  std::variant<Response, Error> outcome_;
};

// Callbacks whose terminal callbacks (whichever of the three runs) hand `done` the Result. The
// other callbacks stay empty, so the body is buffered. The building block of every form above.
[[nodiscard]] Callbacks callbacks_for(std::function<void(Result)> done);

}  // namespace fetchpipe
