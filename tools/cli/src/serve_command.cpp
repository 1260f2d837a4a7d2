// `fetchpipe serve [--host H] [--port N]`: the fault server, until SIGINT or SIGTERM.
#include <fmt/format.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include <fetchpipe/tools/fault_server.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace fetchpipe::cli {

int run_serve(Args args) {
  const ServeCommand cmd = parse_serve(args);
  if (cmd.help) {
    fmt::print("{}", kServeHelp);
    return kExitSuccess;
  }
  std::mutex mutex;
  std::condition_variable stop_cv;
  int stop_signal = 0;
  // Watch before the server starts: a signal that arrives during start-up still stops it.
  SignalWatcher watcher([&](int signo) {
    std::lock_guard lock(mutex);
    if (stop_signal == 0) stop_signal = signo;
    stop_cv.notify_all();
  });

  std::optional<tools::FaultServer> server;
  try {
    server.emplace(tools::FaultServer::Options{.host = cmd.host, .port = cmd.port});
  } catch (const std::exception& e) {
    fmt::print(stderr, "fetchpipe: serve: cannot listen on {}:{}: {}\n", printable(cmd.host), cmd.port,
               printable(e.what()));
    return kExitTransport;
  }
  fmt::print("fetchpipe serve: listening on {}\n{}", server->base_url(), server->describe_endpoints());
  fmt::print("Stop with Ctrl-C (SIGINT) or SIGTERM.\n");
  // Scripts read the address from a pipe: without the flush it would sit in stdio's buffer.
  std::fflush(stdout);

  int signo = 0;
  {
    std::unique_lock lock(mutex);
    stop_cv.wait(lock, [&] { return stop_signal != 0; });
    signo = stop_signal;
  }
  server->stop();
  fmt::print(stderr, "fetchpipe serve: stopped by {}\n", signal_name(signo));
  return kExitSuccess;
}

}  // namespace fetchpipe::cli
