// A coroutine with Asio: co_await fetches on an io_context run by two threads; a timer races a
// slow fetch, and the loser (the fetch) is cancelled through Asio's cancellation slot.
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <iostream>
#include <thread>

#include "fetchpipe/asio.hpp"
#include "fetchpipe/defaults.hpp"
#include "fetchpipe/tools/fault_server.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

asio::awaitable<int> run(fetchpipe::Client& client, const fetchpipe::tools::FaultServer& server) {
  // A URL string is a GET. (With GCC 12, name a Request before co_await instead of writing
  // `{.url = ...}` inside the co_await expression: see fetchpipe/coroutine.hpp.)
  fetchpipe::Result first = co_await fetchpipe::async_fetch(client, server.url("/fixed"), asio::use_awaitable);
  if (!first) co_return 1;
  std::cout << "HTTP " << first->status << ": " << first->body;

  asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
  const fetchpipe::Request slow{.url = server.url("/delay?ms=5000")};
  auto winner = co_await (fetchpipe::async_fetch(client, slow, asio::use_awaitable) ||
                          timer.async_wait(asio::use_awaitable));
  std::cout << (winner.index() == 1 ? "the timer won; the slow fetch was cancelled\n" : "the fetch won\n");
  co_return winner.index() == 1 ? 0 : 1;
}

int main() {
  fetchpipe::tools::FaultServer server;
  fetchpipe::Client client;
  asio::io_context io;
  std::future<int> result = asio::co_spawn(io, run(client, server), asio::use_future);
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  return result.get();
}
