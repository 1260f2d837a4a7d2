#include "fetchpipe/result.hpp"

#include <memory>

namespace fetchpipe {

FetchFailed::FetchFailed(Error error) : std::runtime_error(error.message), error_(std::move(error)) {}

namespace {

[[noreturn]] void throw_no_error() {
  throw std::logic_error("fetchpipe::Result::error() called on a successful result");
}

}  // namespace

Response& Result::value() & {
  if (!has_value()) throw FetchFailed(std::get<1>(outcome_));
  return std::get<0>(outcome_);
}

const Response& Result::value() const& {
  if (!has_value()) throw FetchFailed(std::get<1>(outcome_));
  return std::get<0>(outcome_);
}

Response&& Result::value() && {
  if (!has_value()) throw FetchFailed(std::move(std::get<1>(outcome_)));
  return std::move(std::get<0>(outcome_));
}

Error& Result::error() & {
  if (has_value()) throw_no_error();
  return std::get<1>(outcome_);
}

const Error& Result::error() const& {
  if (has_value()) throw_no_error();
  return std::get<1>(outcome_);
}

Error&& Result::error() && {
  if (has_value()) throw_no_error();
  return std::move(std::get<1>(outcome_));
}

Callbacks callbacks_for(std::function<void(Result)> done) {
  // One copy of `done` shared by the three terminal callbacks: it may own move-only state behind
  // a pointer, and exactly one of them runs.
  auto shared = std::make_shared<std::function<void(Result)>>(std::move(done));
  return Callbacks{
      .on_success = [shared](Response r) { (*shared)(Result(std::move(r))); },
      .on_failure = [shared](Error e) { (*shared)(Result(std::move(e))); },
      .on_cancel = [shared](Error e) { (*shared)(Result(std::move(e))); },
  };
}

}  // namespace fetchpipe
