// `fetchpipe bench`: the throughput table of docs/cli.md.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <optional>

#include <fetchpipe/tools/fault_server.hpp>

#include "bench_runner.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "signals.hpp"

namespace fetchpipe::cli {
namespace {

// "[#########...........]  45%  curl c=16" redrawn in place; only ever on a terminal.
void draw_progress(const std::string& label, double fraction) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  fmt::print(stderr, "\r[{:#<{}}{:.<{}}] {:3.0f}%  {}", "", filled, "", kWidth - filled, fraction * 100, label);
  std::fflush(stderr);
}

void clear_progress() {
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace

int run_bench(Args args) {
  const BenchCommand cmd = parse_bench(args);
  if (cmd.help) {
    fmt::print("{}", kBenchHelp);
    return kExitSuccess;
  }
  std::atomic<bool> stop{false};
  SignalWatcher watcher([&](int) { stop.store(true); });

  std::optional<tools::FaultServer> server;
  std::string url;
  if (cmd.url) {
    url = *cmd.url;
  } else {
    server.emplace();
    url = server->url("/fixed");
  }
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  if (!cmd.json) {
    fmt::print("fetchpipe bench: {} ({}each row)\n", url,
               cmd.requests ? fmt::format("{} requests ", *cmd.requests)
                            : fmt::format("{:.3g} s ", std::chrono::duration<double>(cmd.duration).count()));
    fmt::print("{}", format_bench_header());
    std::fflush(stdout);
  }
  std::vector<BenchRow> rows;
  for (const auto& transport : cmd.transports) {
    for (const int concurrency : cmd.concurrency) {
      if (stop.load()) break;
      BenchConfig config{.transport = transport,
                         .concurrency = concurrency,
                         .duration = cmd.duration,
                         .requests = cmd.requests,
                         .url = url,
                         .stop = &stop};
      const std::string label = fmt::format("{} c={}", transport, concurrency);
      if (tty) config.progress = [&label](double f) { draw_progress(label, f); };
      rows.push_back(run_bench(config));
      if (tty) clear_progress();
      if (!cmd.json) {
        fmt::print("{}", format_bench_row(rows.back()));
        std::fflush(stdout);
      }
    }
  }
  if (stop.load()) {
    fmt::print(stderr, "fetchpipe bench: interrupted\n");
    return kExitCancelled;
  }
  if (cmd.json) fmt::print("{}\n", bench_rows_to_json(url, rows));
  return kExitSuccess;
}

}  // namespace fetchpipe::cli
