// Test support for the conformance suite: a client per transport, run against the fault server,
// and a synchronous view of one fetch's callbacks.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "fetchpipe/transports/httplib_transport.hpp"

namespace fetchpipe::conformance {

using namespace std::chrono_literals;

// Sanitizers slow everything down; timing bounds scale with them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSlack = 4;
#else
inline constexpr int kSlack = 1;
#endif

inline std::shared_ptr<Transport> make_transport(const std::string& name) {
  if (name == "curl") return std::make_shared<CurlTransport>();
  if (name == "httplib") return std::make_shared<HttplibTransport>(HttplibTransport::Options{.workers = 16});
  throw std::invalid_argument("unknown transport " + name);
}

// Everything one fetch reported, gathered on the executor thread.
struct Outcome {
  std::string terminal;  // "success", "failure" or "cancel"
  std::optional<Response> response;
  std::optional<Error> error;
  std::string streamed;
  std::vector<std::string> events;
  Clock::time_point ended{};

  [[nodiscard]] ErrorKind kind() const { return error ? error->kind : ErrorKind::internal_error; }
  [[nodiscard]] std::size_t attempts() const {
    return response ? response->attempts.size() : error ? error->attempts.size() : 0;
  }
};

// Runs fetches through one client and waits (bounded) for their outcome.
class Runner {
 public:
  Runner(const std::string& transport, const std::function<void(ClientOptions&)>& tweak = {},
         DefaultRetryPolicy::Options retry = {}) {
    ClientOptions o;
    o.transport = make_transport(transport);
    o.retry_policy = std::make_shared<DefaultRetryPolicy>(retry);
    o.backoff_policy = std::make_shared<ExponentialBackoff>(
        ExponentialBackoff::Options{.initial = 10ms, .multiplier = 2, .max = 100ms, .jitter = Jitter::none});
    o.timeouts.attempt = 10s;
    o.timeouts.connect = 5s;
    o.callback_executor = std::make_shared<ThreadPoolExecutor>(2);
    if (tweak) tweak(o);
    client_ = std::make_unique<Client>(o);
  }

  struct Pending {
    std::shared_ptr<Outcome> outcome;
    std::shared_ptr<std::promise<void>> done;
    std::future<void> ready;
    FetchHandle handle;
  };

  // Starts a fetch. `stream` streams to Outcome::streamed; `rewind` adds on_rewind.
  Pending start(Request request, bool stream = false, bool rewind = false) {
    Pending p;
    p.outcome = std::make_shared<Outcome>();
    p.done = std::make_shared<std::promise<void>>();
    p.ready = p.done->get_future();
    auto out = p.outcome;
    auto done = p.done;
    auto end = [out, done](const char* what) {
      out->terminal = what;
      out->events.push_back(what);
      out->ended = Clock::now();
      done->set_value();
    };
    Callbacks cb{
        .on_success = [out, end](Response r) { out->response = std::move(r); end("success"); },
        .on_failure = [out, end](Error e) { out->error = std::move(e); end("failure"); },
        .on_cancel = [out, end](Error e) { out->error = std::move(e); end("cancel"); },
    };
    if (stream) {
      cb.on_chunk = [out](std::string_view c) {
        out->events.push_back("chunk");
        out->streamed.append(c);
      };
    }
    if (rewind) {
      cb.on_rewind = [out] {
        out->events.push_back("rewind");
        out->streamed.clear();
      };
    }
    p.handle = client_->fetch(std::move(request), std::move(cb));
    return p;
  }

  static Outcome wait(Pending& p, std::chrono::seconds limit = 60s) {
    if (p.ready.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "the fetch did not end within " << limit.count() << " s";
      p.handle.cancel();
      p.ready.wait_for(10s);
    }
    return *p.outcome;
  }

  Outcome fetch(Request request, bool stream = false, bool rewind = false) {
    auto p = start(std::move(request), stream, rewind);
    return wait(p);
  }

  Client& client() { return *client_; }

 private:
  std::unique_ptr<Client> client_;
};

// A unique key per test, so the server's counters never mix tests.
inline std::string test_key() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string key = std::string(info->test_suite_name()) + "." + info->name();
  for (auto& c : key) {
    if (c == '/') c = '_';
  }
  return key;
}

inline std::string expected_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

}  // namespace fetchpipe::conformance
