// 1,000 concurrent fetches with a progress count: start them all, count terminal callbacks as
// they come (on the callback executor), and wait for the last one.
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>

#include "fetchpipe/client.hpp"
#include "fetchpipe/tools/fault_server.hpp"

int main() {
  constexpr int kFetches = 1000;
  fetchpipe::tools::FaultServer server;
  std::mutex mutex;
  std::condition_variable all_done;
  int finished = 0;
  std::atomic<int> succeeded{0};
  fetchpipe::Client client;  // after what its callbacks touch: destroyed first

  auto one_done = [&](bool ok) {
    if (ok) succeeded.fetch_add(1);
    std::lock_guard lock(mutex);
    if (++finished % 100 == 0) std::cout << "progress: " << finished << '/' << kFetches << '\n';
    if (finished == kFetches) all_done.notify_one();
  };
  for (int i = 0; i < kFetches; ++i) {
    client.fetch({.url = server.url("/delay?ms=20")},
                 {.on_success = [&](fetchpipe::Response) { one_done(true); },
                  .on_failure = [&](fetchpipe::Error) { one_done(false); },
                  .on_cancel = [&](fetchpipe::Error) { one_done(false); }});
  }
  std::unique_lock lock(mutex);
  all_done.wait(lock, [&] { return finished == kFetches; });
  std::cout << succeeded.load() << " of " << kFetches << " succeeded\n";
  return succeeded.load() == kFetches ? 0 : 1;
}
