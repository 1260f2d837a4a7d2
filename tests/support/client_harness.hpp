// Test support: a client on the memory transport in virtual time, and a recorder of callbacks.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/constant_backoff.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/transports/memory_transport.hpp"

namespace fetchpipe::testing {

using namespace std::chrono_literals;

// Collects every callback of one fetch, in order.
struct Recorder {
  std::vector<std::string> events;
  std::optional<Response> response;
  std::optional<Error> error;
  std::vector<AttemptRecord> attempts_seen;
  std::string streamed;
  int terminal = 0;

  Callbacks callbacks() {
    return Callbacks{
        .on_success = [this](Response r) { ++terminal; events.push_back("success"); response = std::move(r); },
        .on_failure = [this](Error e) { ++terminal; events.push_back("failure"); error = std::move(e); },
        .on_cancel = [this](Error e) { ++terminal; events.push_back("cancel"); error = std::move(e); },
        .on_chunk = nullptr,
        .on_rewind = nullptr,
        .on_attempt = [this](const AttemptRecord& r) {
          events.push_back("attempt:" + std::to_string(r.number));
          attempts_seen.push_back(r);
        },
    };
  }
  Callbacks streaming(bool rewindable) {
    auto cb = callbacks();
    cb.on_chunk = [this](std::string_view c) { events.push_back("chunk"); streamed.append(c); };
    if (rewindable) cb.on_rewind = [this] { events.push_back("rewind"); streamed.clear(); };
    return cb;
  }
};

struct VirtualClient {
  std::shared_ptr<ManualScheduler> clock = std::make_shared<ManualScheduler>();
  std::shared_ptr<ManualExecutor> executor = std::make_shared<ManualExecutor>();
  std::shared_ptr<MemoryTransport> memory = std::make_shared<MemoryTransport>(clock);

  ClientOptions options(DefaultRetryPolicy::Options retry = {}) const {
    ClientOptions o;
    o.transport = memory;
    o.scheduler = clock;
    o.callback_executor = executor;
    o.retry_policy = std::make_shared<DefaultRetryPolicy>(retry);
    o.backoff_policy = std::make_shared<ExponentialBackoff>(
        ExponentialBackoff::Options{.initial = 100ms, .multiplier = 2, .max = 10s, .jitter = Jitter::none});
    return o;
  }

  // Fires due timers and runs queued callbacks until neither has work.
  void settle() {
    for (int i = 0; i < 10'000; ++i) {
      const auto fired = clock->run_due();
      const auto ran = executor->run_all();
      if (fired == 0 && ran == 0) return;
    }
    FAIL() << "settle() did not settle";
  }
  // Advances virtual time in small steps (so each step's callbacks run), then settles.
  void advance(std::chrono::nanoseconds total, std::chrono::nanoseconds step = 1ms) {
    for (std::chrono::nanoseconds done{0}; done < total; done += step) {
      clock->advance(step);
      settle();
    }
  }
};

}  // namespace fetchpipe::testing
