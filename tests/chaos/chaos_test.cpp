// Chaos test of the fetch pipeline (issue 7): many fetches on the memory transport in virtual
// time, with everything random that the pipeline must survive — faults of every kind, delays,
// hangs, Retry-After values (seconds, dates, garbage), redirect chains across origins and to
// other schemes, bodies and body limits, streaming sinks, invalid requests, cancels and stop
// requests from other threads while one thread drives the clock, and clients destroyed while
// their fetches are in flight.
//
// Checked for every fetch:
//   - exactly one terminal callback, and no chunk after it;
//   - attempts never above the policy's max_attempts, numbered 1..n;
//   - no wait past the deadline: every attempt starts, and every planned backoff ends, before
//     fetch start + overall timeout; an attempt starts no earlier than the previous one's end
//     plus its backoff;
//   - a body never above max_body_bytes; an invalid request never reaches the transport;
// for every exchange the transport sees: an http/https URL, a valid request, and no Authorization
// or Cookie header on an origin other than the fetch's own; for every client: no callback once
// its destructor has returned, and Client::stats() reconciles (started = succeeded + failed +
// cancelled + in_flight, in_flight 0 at the end, each equal to what the callbacks saw).
//
// Seeded and reproducible: the seed is printed; FETCHPIPE_CHAOS_SEED=<n> replays the same
// scenarios (thread interleavings still vary — that is the point of the other threads).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/transports/memory_transport.hpp"
#include "fetchpipe/url.hpp"

namespace fetchpipe {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t kTotalFetches = 20'000;
#else
constexpr std::size_t kTotalFetches = 100'000;
#endif
constexpr std::size_t kFetchesPerClient = 1'000;
constexpr std::uint64_t kDefaultSeed = 0x5eed'c4a0'5000'0007ULL;

// Two origins on loopback ports: nothing here does I/O or resolves a name (memory transport).
constexpr std::array<std::string_view, 2> kOrigins{"http://127.0.0.1:1001", "http://127.0.0.1:1002"};
constexpr int kPathsPerOrigin = 12;

std::string path_url(std::size_t origin, int path) {
  return std::string(kOrigins[origin % kOrigins.size()]) + "/p" + std::to_string(path);
}

// Collects invariant violations from any thread; the test reports the first few and the count.
class Violations {
 public:
  void add(std::string what) {
    count_.fetch_add(1);
    std::lock_guard lock(mutex_);
    if (first_.size() < 20) first_.push_back(std::move(what));
  }
  [[nodiscard]] int count() const { return count_.load(); }
  [[nodiscard]] std::string report() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& v : first_) out += "  " + v + "\n";
    return out;
  }

 private:
  std::atomic<int> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> first_;
};

// Wraps the memory transport and checks every exchange the pipeline starts.
class CheckingTransport final : public Transport {
 public:
  CheckingTransport(std::shared_ptr<Transport> inner, Violations& violations)
      : inner_(std::move(inner)), violations_(violations) {}

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override {
    const Request& request = *spec.request;
    exchanges.fetch_add(1);
    if (auto problem = validate(request)) violations_.add("transport got an invalid request: " + *problem);
    const auto url = Url::parse(request.url);
    if (!url) {
      violations_.add("transport got a URL that does not parse: " + request.url);
    } else if (const auto home = request.headers.get("X-Home-Origin"); home && *home != url->origin()) {
      if (request.headers.contains("Authorization") || request.headers.contains("Cookie")) {
        violations_.add("credentials sent across origins to " + request.url);
      }
    }
    return inner_->start(spec, std::move(observer));
  }
  [[nodiscard]] std::string_view name() const override { return "checking-memory"; }

  std::atomic<std::uint64_t> exchanges{0};

 private:
  std::shared_ptr<Transport> inner_;
  Violations& violations_;
};

// An IMF-fixdate for a Retry-After date.
std::string http_date(std::chrono::system_clock::time_point t) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kDays[weekday{day}.c_encoding()],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

// One random scripted answer.
Scripted random_answer(std::mt19937_64& rng, std::chrono::system_clock::time_point wall_now) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  auto ms = [&](int max) { return std::chrono::milliseconds(pick(max + 1)); };
  Scripted s;
  const int roll = pick(100);
  if (roll < 30) {
    s = Scripted::ok(std::string(static_cast<std::size_t>(pick(3000)), 'x'), static_cast<std::size_t>(1 + pick(5)));
  } else if (roll < 45) {
    static constexpr std::array<ErrorKind, 8> kFaults{
        ErrorKind::dns_failure,     ErrorKind::connect_failure, ErrorKind::connect_timeout, ErrorKind::tls_failure,
        ErrorKind::connection_reset, ErrorKind::attempt_timeout, ErrorKind::stall_timeout, ErrorKind::internal_error};
    s = Scripted::fault(kFaults[static_cast<std::size_t>(pick(kFaults.size()))], ms(300));
  } else if (roll < 55) {
    // A reset in the middle of the body.
    s = Scripted::ok(std::string(static_cast<std::size_t>(100 + pick(2000)), 'y'), 4);
    s.error = ErrorKind::connection_reset;
    s.fail_after_chunks = static_cast<std::size_t>(pick(4));
  } else if (roll < 70) {
    static constexpr std::array<int, 7> kStatuses{429, 500, 502, 503, 504, 404, 408};
    const int status = kStatuses[static_cast<std::size_t>(pick(kStatuses.size()))];
    switch (pick(6)) {
      case 0: s = Scripted::status_code(status, "busy"); break;
      case 1: s = Scripted::retry_after(status, std::to_string(pick(200))); break;
      case 2: s = Scripted::retry_after(status, http_date(wall_now + std::chrono::seconds(pick(400) - 100))); break;
      case 3: s = Scripted::retry_after(status, "soon"); break;
      case 4: s = Scripted::retry_after(status, "-5"); break;
      default: s = Scripted::retry_after(status, "99999999999999999999"); break;
    }
  } else if (roll < 85) {
    static constexpr std::array<int, 5> kCodes{301, 302, 303, 307, 308};
    const int code = kCodes[static_cast<std::size_t>(pick(kCodes.size()))];
    std::string location;
    switch (pick(6)) {
      case 0: location = "ftp://127.0.0.1:1001/p1"; break;
      case 1: location = "file:///etc/passwd"; break;
      case 2: location = "/p" + std::to_string(pick(kPathsPerOrigin)); break;  // same origin
      default: location = path_url(static_cast<std::size_t>(pick(2)), pick(kPathsPerOrigin)); break;
    }
    s = Scripted::redirect(code, std::move(location));
  } else if (roll < 92) {
    s = Scripted::hanging();
  } else {
    // A slow drip: stall and attempt timeouts.
    s = Scripted::ok(std::string(static_cast<std::size_t>(50 + pick(500)), 'z'), static_cast<std::size_t>(2 + pick(6)));
    s.chunk_interval = ms(3000);
  }
  s.connect_delay = pick(10) == 0 ? ms(12'000) : ms(50);
  s.latency += ms(200);
  return s;
}

// What one fetch saw.
struct FetchRecord {
  std::atomic<int> terminal{0};
  std::atomic<int> late_chunks{0};
  std::atomic<int> callbacks_after_destruction{0};
  std::uint64_t streamed = 0;  // touched only by this fetch's serialized callbacks
  std::optional<Response> response;
  std::optional<Error> error;
  std::string outcome;
};

struct Tally {
  std::atomic<std::uint64_t> success{0}, failure{0}, cancel{0};
  std::atomic<std::uint64_t> ended{0};
};

struct ClientPlan {
  int max_attempts = 4;
  std::optional<nanoseconds> overall;
  std::optional<std::uint64_t> max_body;
  bool destroy_mid_flight = false;
  nanoseconds destroy_at{0};  // virtual time after the first fetch
};

class Chaos {
 public:
  Chaos(std::uint64_t seed, Violations& violations) : seed_(seed), violations_(violations) {}

  // Runs one client with `count` fetches. Returns false when the run did not finish in bounds.
  void run_client(std::size_t index, std::size_t count);

  std::atomic<std::uint64_t> total_success{0}, total_failure{0}, total_cancel{0}, total_attempts{0};
  std::atomic<std::uint64_t> destroyed_clients{0};
  std::atomic<std::uint64_t> cancelled_by_destruction{0};

 private:
  void check_fetch(const FetchRecord& r, const ClientPlan& plan, bool valid_request, std::size_t i);

  std::uint64_t seed_;
  Violations& violations_;
};

void Chaos::check_fetch(const FetchRecord& r, const ClientPlan& plan, bool valid_request, std::size_t i) {
  const std::string id = "fetch " + std::to_string(i);
  if (r.terminal.load() != 1) {
    violations_.add(id + ": " + std::to_string(r.terminal.load()) + " terminal callbacks");
    return;
  }
  if (r.late_chunks.load() != 0) violations_.add(id + ": a chunk after the terminal callback");
  if (r.callbacks_after_destruction.load() != 0) violations_.add(id + ": a callback after the client's destruction");
  const std::vector<AttemptRecord>& attempts = r.response ? r.response->attempts : r.error->attempts;
  if (!valid_request) {
    if (!r.error || (r.error->kind != ErrorKind::invalid_request && r.error->kind != ErrorKind::cancelled) ||
        (r.error->kind == ErrorKind::invalid_request && !attempts.empty())) {
      violations_.add(id + ": an invalid request did not fail as invalid_request without attempts");
    }
    return;
  }
  if (static_cast<int>(attempts.size()) > plan.max_attempts) {
    violations_.add(id + ": " + std::to_string(attempts.size()) + " attempts, max " + std::to_string(plan.max_attempts));
  }
  if (attempts.empty()) {
    // Only a cancel, or a deadline that passed before the first attempt could start (the first
    // attempt starts after the deadline's timer is armed), ends a valid fetch with no attempt.
    if (!r.error || (r.error->kind != ErrorKind::cancelled && r.error->kind != ErrorKind::deadline_exceeded)) {
      violations_.add(id + ": no attempt recorded (" +
                      (r.error ? std::string(to_string(r.error->kind)) : std::string("success")) + ")");
    }
    return;
  }
  const TimePoint start = attempts.front().start;
  // TimePoint::max() when there is no overall timeout (a plain value: gcc warns on optional here).
  const bool has_deadline = plan.overall.has_value();
  const TimePoint deadline = has_deadline ? start + *plan.overall : TimePoint::max();
  for (std::size_t a = 0; a < attempts.size(); ++a) {
    const AttemptRecord& rec = attempts[a];
    if (rec.number != static_cast<int>(a) + 1) violations_.add(id + ": attempt numbers not 1..n");
    if (has_deadline && rec.start > deadline) violations_.add(id + ": an attempt started past the deadline");
    if (rec.backoff) {
      if (*rec.backoff < nanoseconds::zero()) violations_.add(id + ": a negative backoff");
      const TimePoint wait_end = rec.start + rec.elapsed + *rec.backoff;
      if (has_deadline && wait_end >= deadline) violations_.add(id + ": a backoff ends past the deadline");
      if (a + 1 < attempts.size() && attempts[a + 1].start < wait_end) {
        violations_.add(id + ": an attempt started before its backoff ended");
      }
    }
    // An attempt also ends by the deadline — checked from attempt 2 on. Attempt 1 starts on the
    // thread that called fetch(), which the clock thread may overtake between the pipeline reading
    // the clock and the transport arming its timer (as preemption would in real time); retries
    // start from a timer on the clock thread, where the clock cannot move meanwhile.
    const bool cancelled = rec.error == ErrorKind::cancelled;
    if (has_deadline && a > 0 && !cancelled && rec.start + rec.elapsed > deadline) {
      violations_.add(id + ": attempt " + std::to_string(rec.number) + " ran past the deadline by " +
                      std::to_string((rec.start + rec.elapsed - deadline).count()) + " ns");
    }
  }
  // Every fetch, whatever its end: no more than the limit ever reaches the user.
  if (plan.max_body) {
    if ((r.response && r.response->body.size() > *plan.max_body) || r.streamed > *plan.max_body) {
      violations_.add(id + ": a body above max_body_bytes was delivered (" + r.outcome + ")");
    }
  }
}

void Chaos::run_client(std::size_t index, std::size_t count) {
  std::mt19937_64 rng(seed_ ^ (0x9e3779b97f4a7c15ULL * (index + 1)));
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };

  auto clock = std::make_shared<ManualScheduler>();
  auto executor = std::make_shared<ThreadPoolExecutor>(2);
  auto memory = std::make_shared<MemoryTransport>(clock, MemoryTransport::Options{.record_requests = false});
  auto checking = std::make_shared<CheckingTransport>(memory, violations_);

  for (std::size_t origin = 0; origin < kOrigins.size(); ++origin) {
    for (int p = 0; p < kPathsPerOrigin; ++p) {
      std::vector<Scripted> answers;
      const int n = 1 + pick(6);
      for (int k = 0; k < n; ++k) answers.push_back(random_answer(rng, clock->system_now()));
      memory->script(path_url(origin, p), std::move(answers));
    }
  }

  ClientPlan plan;
  plan.max_attempts = 1 + pick(5);
  if (pick(3) != 0) plan.overall = std::chrono::milliseconds(500 + pick(60'000));
  if (pick(2) == 0) plan.max_body = static_cast<std::uint64_t>(pick(4000));
  plan.destroy_mid_flight = pick(4) == 0;
  plan.destroy_at = std::chrono::milliseconds(pick(20'000));

  ClientOptions options;
  options.transport = checking;
  options.scheduler = clock;
  options.callback_executor = executor;
  DefaultRetryPolicy::Options retry;
  retry.max_attempts = plan.max_attempts;
  retry.retry_non_idempotent = pick(2) == 0;
  retry.retry_after_max = std::chrono::milliseconds(pick(90'000));
  retry.honor_retry_after = pick(5) != 0;
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(retry);
  static constexpr std::array<Jitter, 4> kJitters{Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated};
  options.backoff_policy = std::make_shared<ExponentialBackoff>(ExponentialBackoff::Options{
      .initial = std::chrono::milliseconds(pick(500)),
      .multiplier = 1.0 + pick(30) / 10.0,
      .max = std::chrono::milliseconds(500 + pick(20'000)),
      .jitter = kJitters[static_cast<std::size_t>(pick(4))],
      .seed = rng()});
  options.timeouts.connect = std::chrono::milliseconds(1'000 + pick(10'000));
  options.timeouts.attempt = std::chrono::milliseconds(500 + pick(8'000));
  if (pick(2) == 0) options.timeouts.stall = std::chrono::milliseconds(200 + pick(3'000));
  options.timeouts.overall = plan.overall;
  options.max_redirects = pick(4);
  options.max_body_bytes = plan.max_body;
  std::atomic<int> hook_calls{0};
  options.on_callback_exception = [&](std::exception_ptr) { hook_calls.fetch_add(1); };

  // The fetches, decided up front so the scenario depends only on the seed.
  struct Spec {
    Request request;
    bool valid = true;
    bool stream = false;
    bool rewind = false;
    bool use_stop = false;
    bool cancel = false;     // a canceller thread cancels it
    bool throw_in_callback = false;
  };
  std::vector<Spec> specs(count);
  for (auto& s : specs) {
    const std::size_t origin = static_cast<std::size_t>(pick(2));
    s.request.url = path_url(origin, pick(kPathsPerOrigin));
    s.request.method = pick(5) == 0 ? "POST" : "GET";
    if (s.request.method == "POST") s.request.body = "payload";
    s.request.headers.add("X-Home-Origin", std::string(kOrigins[origin]));
    s.request.headers.add("Authorization", "Bearer secret");
    s.request.headers.add("Cookie", "session=1");
    if (pick(40) == 0) {
      s.valid = false;
      if (pick(2) == 0) s.request.headers.add("X-Bad", "a\r\nInjected: 1");
      else s.request.url = "ftp://127.0.0.1:1001/p1";
    }
    s.stream = pick(3) == 0;
    s.rewind = s.stream && pick(2) == 0;
    s.use_stop = pick(4) == 0;
    s.cancel = pick(7) == 0;
    s.throw_in_callback = pick(50) == 0;
  }

  std::vector<FetchRecord> records(count);
  std::vector<FetchHandle> handles(count);
  std::vector<std::stop_source> stops(count);
  std::unique_ptr<std::atomic<bool>[]> published(new std::atomic<bool>[count]);
  std::vector<std::int64_t> started_at_ms(count);  // virtual time when fetch() returned; read after `published`
  for (std::size_t i = 0; i < count; ++i) published[i].store(false);
  Tally tally;
  std::atomic<bool> destroyed{false};
  std::atomic<bool> finished{false};
  std::atomic<std::int64_t> virtual_ms{0};

  auto client = std::make_unique<Client>(options);

  // The clock thread: the only one that advances virtual time.
  std::thread clock_thread([&, step_seed = rng()] {
    std::mt19937_64 steps(step_seed);
    for (std::uint64_t i = 0; i < 2'000'000 && !finished.load(); ++i) {
      const auto step = std::chrono::milliseconds(1 + static_cast<int>(steps() % 250));
      clock->advance(step);
      virtual_ms.fetch_add(step.count());
      if (i % 64 == 0) std::this_thread::yield();
    }
  });

  // Two cancellers: handles and stop sources, from other threads, racing the clock.
  std::vector<std::thread> cancellers;
  for (int c = 0; c < 2; ++c) {
    cancellers.emplace_back([&, c] {
      for (std::size_t i = static_cast<std::size_t>(c); i < count && !finished.load(); i += 2) {
        if (!specs[i].cancel) continue;
        for (int spin = 0; !published[i].load(std::memory_order_acquire); ++spin) {
          if (finished.load() || spin > 1'000'000) return;
          std::this_thread::yield();
        }
        // Let some virtual time pass first, so cancels hit attempts, backoffs and deliveries.
        const auto until = started_at_ms[i] + static_cast<std::int64_t>((i * 7919) % 1500);
        for (int spin = 0; virtual_ms.load() < until && !finished.load() && spin < 100'000; ++spin) {
          std::this_thread::yield();
        }
        if (specs[i].use_stop) stops[i].request_stop();
        else (void)handles[i].cancel();
      }
    });
  }

  // This thread starts the fetches while the clock runs, then maybe destroys the client.
  for (std::size_t i = 0; i < count; ++i) {
    auto& rec = records[i];
    auto guard = [&rec, &destroyed] {
      if (destroyed.load()) rec.callbacks_after_destruction.fetch_add(1);
    };
    const bool throws = specs[i].throw_in_callback;
    auto end = [&rec, &tally, guard, throws](const char* what, std::atomic<std::uint64_t>& kind) {
      guard();
      rec.outcome = what;
      kind.fetch_add(1);
      rec.terminal.fetch_add(1);
      tally.ended.fetch_add(1);
      if (throws) throw std::runtime_error("a user callback throws");
    };
    Callbacks cb{
        .on_success = [&rec, &tally, end](Response r) { rec.response = std::move(r); end("success", tally.success); },
        .on_failure = [&rec, &tally, end](Error e) { rec.error = std::move(e); end("failure", tally.failure); },
        .on_cancel = [&rec, &tally, end](Error e) { rec.error = std::move(e); end("cancel", tally.cancel); },
    };
    if (specs[i].stream) {
      cb.on_chunk = [&rec, guard](std::string_view chunk) {
        guard();
        if (rec.terminal.load() != 0) rec.late_chunks.fetch_add(1);
        rec.streamed += chunk.size();
      };
    }
    if (specs[i].rewind) cb.on_rewind = [&rec] { rec.streamed = 0; };
    handles[i] = specs[i].use_stop ? client->fetch(specs[i].request, std::move(cb), stops[i].get_token())
                                   : client->fetch(specs[i].request, std::move(cb));
    started_at_ms[i] = virtual_ms.load();
    published[i].store(true, std::memory_order_release);
    if (i % 50 == 0) std::this_thread::yield();  // spread the starts over virtual time
  }

  const auto wait_until = [&](auto done, std::chrono::seconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    return done();
  };

  ClientStats stats_before_end{};
  if (plan.destroy_mid_flight) {
    const auto at = virtual_ms.load() + std::chrono::duration_cast<std::chrono::milliseconds>(plan.destroy_at).count();
    wait_until([&] { return virtual_ms.load() >= at || tally.ended.load() == count; }, 120s);
    client.reset();  // cancels what is in flight; every terminal callback has run when it returns
    destroyed.store(true);
    destroyed_clients.fetch_add(1);
    if (tally.ended.load() != count) {
      violations_.add("client " + std::to_string(index) + ": destroyed with " +
                      std::to_string(count - tally.ended.load()) + " fetches without a terminal callback");
    }
    // Let the clock run on over the dead client's timers: none may call back.
    const auto later = virtual_ms.load() + 60'000;
    wait_until([&] { return virtual_ms.load() >= later; }, 60s);
  } else {
    if (!wait_until([&] { return tally.ended.load() == count; }, 300s)) {
      violations_.add("client " + std::to_string(index) + ": " + std::to_string(count - tally.ended.load()) +
                      " fetches did not end (virtual time " + std::to_string(virtual_ms.load()) + " ms)");
    }
    stats_before_end = client->stats();
  }
  finished.store(true);
  clock_thread.join();
  for (auto& t : cancellers) t.join();

  if (client) {
    // Every callback has returned once the executor is idle: wait for it through a marker task.
    std::atomic<bool> idle{false};
    executor->post([&] { idle.store(true); });
    wait_until([&] { return idle.load(); }, 60s);
    const ClientStats s = client->stats();
    if (s.started != count || s.in_flight != 0 || s.started != s.succeeded + s.failed + s.cancelled + s.in_flight) {
      violations_.add("client " + std::to_string(index) + ": stats do not reconcile: started " +
                      std::to_string(s.started) + " succeeded " + std::to_string(s.succeeded) + " failed " +
                      std::to_string(s.failed) + " cancelled " + std::to_string(s.cancelled) + " in_flight " +
                      std::to_string(s.in_flight));
    }
    if (s.succeeded != tally.success.load() || s.failed != tally.failure.load() || s.cancelled != tally.cancel.load()) {
      violations_.add("client " + std::to_string(index) + ": stats differ from the callbacks seen");
    }
    if (s.attempts < stats_before_end.attempts) violations_.add("attempts counter went down");
    total_attempts.fetch_add(s.attempts);
    client.reset();
    destroyed.store(true);
  }
  executor.reset();  // joins its threads: every queued task has run

  // Each throwing fetch threw once, from its one terminal callback, and the hook saw each throw.
  const auto throwing = static_cast<int>(std::count_if(specs.begin(), specs.end(), [](const Spec& s) {
    return s.throw_in_callback;
  }));
  if (hook_calls.load() != throwing) {
    violations_.add("client " + std::to_string(index) + ": the exception hook ran " + std::to_string(hook_calls.load()) +
                    " times for " + std::to_string(throwing) + " throwing callbacks");
  }

  for (std::size_t i = 0; i < count; ++i) {
    check_fetch(records[i], plan, specs[i].valid, i);
    if (records[i].error && records[i].error->message.find("client was destroyed") != std::string::npos) {
      cancelled_by_destruction.fetch_add(1);
    }
  }
  total_success.fetch_add(tally.success.load());
  total_failure.fetch_add(tally.failure.load());
  total_cancel.fetch_add(tally.cancel.load());
}

std::uint64_t chaos_seed() {
  if (const char* text = std::getenv("FETCHPIPE_CHAOS_SEED")) return std::strtoull(text, nullptr, 0);
  return kDefaultSeed;
}

TEST(Chaos, HundredThousandFetchesKeepEveryInvariant) {
  const std::uint64_t seed = chaos_seed();
  std::printf("chaos seed: %llu (replay with FETCHPIPE_CHAOS_SEED=%llu); %zu fetches\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kTotalFetches);
  Violations violations;
  Chaos chaos(seed, violations);
  const std::size_t clients = kTotalFetches / kFetchesPerClient;
  for (std::size_t c = 0; c < clients && violations.count() == 0; ++c) chaos.run_client(c, kFetchesPerClient);
  const auto total = chaos.total_success.load() + chaos.total_failure.load() + chaos.total_cancel.load();
  std::printf("chaos: %llu success, %llu failure, %llu cancelled, %llu attempts (%llu clients destroyed mid-flight, "
              "cancelling %llu fetches)\n",
              static_cast<unsigned long long>(chaos.total_success.load()),
              static_cast<unsigned long long>(chaos.total_failure.load()),
              static_cast<unsigned long long>(chaos.total_cancel.load()),
              static_cast<unsigned long long>(chaos.total_attempts.load()),
              static_cast<unsigned long long>(chaos.destroyed_clients.load()),
              static_cast<unsigned long long>(chaos.cancelled_by_destruction.load()));
  EXPECT_EQ(violations.count(), 0) << "seed " << seed << ", first violations:\n" << violations.report();
  if (violations.count() == 0) {
    EXPECT_EQ(total, kTotalFetches);
  }
  // Every kind of ending happened, so the run exercised what it claims to.
  EXPECT_GT(chaos.total_success.load(), 0u);
  EXPECT_GT(chaos.total_failure.load(), 0u);
  EXPECT_GT(chaos.total_cancel.load(), 0u);
}

}  // namespace
}  // namespace fetchpipe
