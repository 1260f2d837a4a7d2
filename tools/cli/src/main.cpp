// fetchpipe — the command-line tool. Dispatches to one command; see docs/cli.md for the contract.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "text.hpp"

#ifndef FETCHPIPE_VERSION
#define FETCHPIPE_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  using namespace fetchpipe::cli;
  const std::vector<std::string_view> all(argv + 1, argv + argc);
  if (all.empty()) {
    fmt::print(stderr, "fetchpipe: missing command (get, serve, bench, demo, simulate, enqueue, worker); see fetchpipe --help\n");
    return kExitUsage;
  }
  const std::string_view command = all.front();
  const Args rest = Args(all).subspan(1);
  try {
    if (command == "get") return run_get(rest);
    if (command == "serve") return run_serve(rest);
    if (command == "bench") return run_bench(rest);
    if (command == "demo") return run_demo(rest);
    if (command == "simulate") return run_simulate(rest);
    if (command == "enqueue") return run_enqueue(rest);
    if (command == "worker") return run_worker(rest);
    if (command == "--help" || command == "-h" || command == "help") {
      fmt::print("{}", kTopHelp);
      return kExitSuccess;
    }
    if (command == "--version" || command == "-V") {
      fmt::print("fetchpipe {}\n", FETCHPIPE_VERSION);
      return kExitSuccess;
    }
    fmt::print(stderr, "fetchpipe: unknown command '{}' (expected get, serve, bench, demo, simulate, enqueue or worker)\n", printable(command));
    return kExitUsage;
  } catch (const UsageError& e) {
    fmt::print(stderr, "fetchpipe: {}\n", printable(e.what()));
    return kExitUsage;
  } catch (const std::exception& e) {
    // Setting up a transport or the server failed (descriptors, threads): not the user's input.
    fmt::print(stderr, "fetchpipe: {}: internal error: {}\n", printable(command), printable(e.what()));
    return kExitTransport;
  }
}
