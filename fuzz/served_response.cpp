#include "served_response.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fuzz_check.hpp"
#include "loopback_only_transport.hpp"
#include "response_oracle.hpp"
#include "response_server.hpp"

namespace fetchpipe::fuzz {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;
constexpr int kMaxAttempts = 2;
// Far above the 4 s overall deadline: only a fetch that ignores its clocks gets here.
constexpr auto kHangLimit = 8s;

struct Harness {
  explicit Harness(const std::function<std::shared_ptr<Transport>()>& make_transport)
      : prefix("http://127.0.0.1:" + std::to_string(server.port()) + "/"), client(options(make_transport)) {}

  ClientOptions options(const std::function<std::shared_ptr<Transport>()>& make_transport) const {
    ClientOptions o;
    o.transport = std::make_shared<LoopbackOnlyTransport>(make_transport(), server.port(), server.refused_port());
    // Retry-After is honoured but capped at 10 ms: a fuzzed "Retry-After: 99999" must not make an
    // iteration wait.
    o.retry_policy = std::make_shared<DefaultRetryPolicy>(
        DefaultRetryPolicy::Options{.max_attempts = kMaxAttempts, .retry_after_max = 10ms});
    o.backoff_policy = std::make_shared<ExponentialBackoff>(
        ExponentialBackoff::Options{.initial = 1ms, .multiplier = 1, .max = 1ms, .jitter = Jitter::none});
    o.timeouts = Timeouts{.connect = 1s, .attempt = 2s, .stall = 1s, .overall = 4s};
    o.max_redirects = 2;
    o.max_body_bytes = kMaxBodyBytes;
    // One client serves every input of a run: a budget would refuse the retries the oracle counts
    // on once enough inputs failed. Budgets are tested on their own.
    o.retry_budget = no_retry_budget();
    return o;
  }

  ResponseServer server;  // declared first: it outlives the client
  std::string prefix;
  Client client;
};

// What the callbacks of one fetch saw. Shared with the callbacks, which may outlive the
// iteration (a duplicate terminal callback would arrive later and must still find it).
struct FetchRecord {
  std::mutex mutex;
  int terminals = 0;
  std::string streamed;
  std::optional<Response> response;
  std::optional<Error> error;
  bool cancelled = false;
};

Callbacks callbacks_for(const std::shared_ptr<FetchRecord>& record, ResponseServer& server, bool stream) {
  auto terminal = [record, &server](auto&& store) {
    {
      std::lock_guard lock(record->mutex);
      ++record->terminals;
      FUZZ_CHECK(record->terminals == 1, "terminal callback number %d for one fetch", record->terminals);
      store(*record);
    }
    server.wake();
  };
  Callbacks cb{
      .on_success = [terminal](Response r) { terminal([&](FetchRecord& f) { f.response = std::move(r); }); },
      .on_failure = [terminal](Error e) { terminal([&](FetchRecord& f) { f.error = std::move(e); }); },
      .on_cancel = [terminal](Error e) {
        terminal([&](FetchRecord& f) {
          f.cancelled = true;
          f.error = std::move(e);
        });
      },
  };
  if (stream) {
    cb.on_chunk = [record](std::string_view chunk) {
      std::lock_guard lock(record->mutex);
      FUZZ_CHECK(record->terminals == 0, "a chunk of %zu bytes after the terminal callback", chunk.size());
      record->streamed.append(chunk);
    };
  }
  return cb;
}

// FETCHPIPE_FUZZ_VERBOSE=1 prints each fetch's outcome: to see what a corpus exercises.
void describe(const FetchRecord& f, bool stream) {
  static const bool verbose = std::getenv("FETCHPIPE_FUZZ_VERBOSE") != nullptr;
  if (!verbose) return;
  if (f.response) {
    std::fprintf(stderr, "  %s: success %d, %llu body bytes\n", stream ? "streamed" : "buffered", f.response->status,
                 static_cast<unsigned long long>(f.response->body_bytes));
  } else if (f.error) {
    std::fprintf(stderr, "  %s: %s, %s\n", stream ? "streamed" : "buffered", std::string(to_string(f.error->kind)).c_str(),
                 f.error->message.c_str());
  }
}

// What the bytes alone say (response_oracle.hpp), for the inputs they say something about.
void check_against_oracle(const FetchRecord& f, bool stream, std::string_view input) {
  const char* mode = stream ? "streamed" : "buffered";
  if (f.response) {
    FUZZ_CHECK(has_end_of_head(input), "%s fetch succeeded (%d) though no response head ever ended", mode,
               f.response->status);
  }
  const auto expected = expected_response(input);
  if (!expected) return;
  if (f.response) {
    const Response& r = *f.response;
    FUZZ_CHECK(r.status == expected->status, "%s fetch succeeded with %d, the final head says %d", mode, r.status,
               expected->status);
    FUZZ_CHECK(!expected->conflicting_length, "%s fetch succeeded despite two different Content-Length values",
               mode);
    FUZZ_CHECK(!expected->invalid_length, "%s fetch succeeded despite an invalid Content-Length", mode);
    if (expected->body) {
      FUZZ_CHECK(expected->body->has_value(), "%s fetch succeeded with %llu bytes of a truncated body", mode,
                 static_cast<unsigned long long>(r.body_bytes));
      const std::string& got = stream ? f.streamed : r.body;
      FUZZ_CHECK(got == **expected->body, "%s fetch: body of %zu bytes differs from the %zu the response carries",
                 mode, got.size(), (*expected->body)->size());
    }
    return;
  }
  // A small, complete, well-formed 2xx with a Content-Length body within the limit: every
  // transport must accept it (limits on head size are legitimate, so only small heads count).
  // The one refusal allowed: a transport that cannot read past an interim response other than
  // 100 (httplib, documented) must say so, as the pipeline's "interim status" failure.
  const bool refused_interim = expected->interim_besides_100 &&
                               f.error->message.find("interim status") != std::string::npos;
  const bool must_succeed = expected->status >= 200 && expected->status < 300 && expected->body &&
                            expected->body->has_value() && (*expected->body)->size() <= kMaxBodyBytes &&
                            expected->head_bytes <= 4096 && !refused_interim;
  FUZZ_CHECK(!must_succeed, "%s fetch of a well-formed %d response failed: %s", mode, expected->status,
             f.error->message.c_str());
}

bool one_line(const std::string& s) { return s.find_first_of("\r\n") == std::string::npos; }

void check(const Harness& h, const FetchRecord& f, bool stream, std::string_view input) {
  const char* mode = stream ? "streamed" : "buffered";
  FUZZ_CHECK(f.terminals == 1, "%s fetch: %d terminal callbacks", mode, f.terminals);
  FUZZ_CHECK(!f.cancelled, "%s fetch cancelled though nobody cancelled it: %s", mode, f.error->message.c_str());
  FUZZ_CHECK(f.streamed.size() <= kMaxBodyBytes, "%s fetch: %zu bytes streamed past the %llu-byte limit", mode,
             f.streamed.size(), static_cast<unsigned long long>(kMaxBodyBytes));
  if (f.response) {
    const Response& r = *f.response;
    FUZZ_CHECK(r.status >= 200 && r.status < 300, "%s fetch succeeded with status %d", mode, r.status);
    FUZZ_CHECK(!r.attempts.empty() && r.attempts.size() <= kMaxAttempts, "%s fetch: %zu attempts", mode,
               r.attempts.size());
    FUZZ_CHECK(r.final_url.starts_with(h.prefix), "%s fetch ended at '%s'", mode, r.final_url.c_str());
    const std::uint64_t received = stream ? f.streamed.size() : r.body.size();
    FUZZ_CHECK(received == r.body_bytes, "%s fetch: body_bytes %llu but %llu bytes received", mode,
               static_cast<unsigned long long>(r.body_bytes), static_cast<unsigned long long>(received));
    FUZZ_CHECK(received <= kMaxBodyBytes, "%s fetch succeeded with a %llu-byte body", mode,
               static_cast<unsigned long long>(received));
    FUZZ_CHECK(!stream || r.body.empty(), "streamed fetch also buffered %zu bytes", r.body.size());
    check_against_oracle(f, stream, input);
    return;
  }
  const Error& e = *f.error;
  // The request is valid and nothing in this process fails: whatever the server sends, the fetch
  // may not end as a bad request of ours or as our own failure.
  FUZZ_CHECK(e.kind != ErrorKind::internal_error && e.kind != ErrorKind::invalid_request,
             "%s fetch: %s from a response: %s", mode, std::string(to_string(e.kind)).c_str(), e.message.c_str());
  // 101 excepted: after it the connection is no longer HTTP, so it is the last head there is.
  FUZZ_CHECK(!(e.kind == ErrorKind::http_status && e.status && *e.status < 200 && *e.status != 101),
             "%s fetch: interim status %d taken as the final response", mode, *e.status);
  check_against_oracle(f, stream, input);
  FUZZ_CHECK(one_line(e.message), "%s fetch: the error message spans lines: %s", mode, e.message.c_str());
  FUZZ_CHECK(!e.attempts.empty() && e.attempts.size() <= kMaxAttempts, "%s fetch: %zu attempts", mode,
             e.attempts.size());
  for (const auto& a : e.attempts) {
    FUZZ_CHECK(one_line(a.message), "%s fetch: an attempt message spans lines: %s", mode, a.message.c_str());
  }
  FUZZ_CHECK(e.bytes_delivered == f.streamed.size(), "%s fetch: bytes_delivered %llu but on_chunk got %zu", mode,
             static_cast<unsigned long long>(e.bytes_delivered), f.streamed.size());
}

}  // namespace

int run_served_response(const std::function<std::shared_ptr<Transport>()>& make_transport,
                        const std::uint8_t* data, std::size_t size) {
  static Harness h(make_transport);
  const std::string_view response = as_text(data, size);
  std::shared_ptr<FetchRecord> records[2];
  for (const bool stream : {false, true}) {
    auto record = std::make_shared<FetchRecord>();
    h.client.fetch({.url = h.prefix + "fuzz"}, callbacks_for(record, h.server, stream));
    FUZZ_CHECK(h.server.serve(response, kHangLimit), "%s fetch: no terminal callback within %lld s (a hang)",
               stream ? "streamed" : "buffered", static_cast<long long>(kHangLimit.count()));
    std::lock_guard lock(record->mutex);
    describe(*record, stream);
    check(h, *record, stream, response);
    records[stream ? 1 : 0] = std::move(record);
  }
  const auto& buffered = records[0]->response;
  const auto& streamed = records[1]->response;
  if (buffered && streamed) {
    FUZZ_CHECK(buffered->status == streamed->status && buffered->body == records[1]->streamed,
               "buffered (%d, %zu bytes) and streamed (%d, %zu bytes) fetches of one response differ",
               buffered->status, buffered->body.size(), streamed->status, records[1]->streamed.size());
  }
  return 0;
}

}  // namespace fetchpipe::fuzz
