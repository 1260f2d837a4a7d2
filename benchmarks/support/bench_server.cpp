// bench_server — the fault server alone in its own process, for benchmarks that need the server
// out of the measured process. `benchmarks/run` uses it only when `fetchpipe serve` (the CLI) is
// not built; both serve the same endpoints.
//
//   bench_server [--port N]     prints "listening on http://127.0.0.1:PORT", runs until SIGTERM/SIGINT
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fetchpipe/tools/fault_server.hpp"

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: bench_server [--port N]\n");
      return 2;
    }
  }
  // Ten thousand held connections need ten thousand descriptors.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  // Block the stop signals before the server starts its threads, so they inherit the mask and the
  // signal is taken here by sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  fetchpipe::tools::FaultServer server({.port = port});
  std::printf("listening on %s\n", server.base_url().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&stop_signals, &received);
  server.stop();
  return 0;
}
