// Allocation failure in the transport path: a transport whose start() throws std::bad_alloc, and
// a test-only operator new that fails the Nth allocation made on the test thread while a fetch
// runs (the client, memory transport, virtual clock and executor all run on that thread, so the
// hook sees the whole fetch and nothing else). Each fetch ends with exactly one terminal callback
// — a typed failure when the allocation failure hit it — or fetch() itself throws bad_alloc and
// then no callback ever runs; never a hang, never a crash.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "client_harness.hpp"

namespace {
// Allocations left before the one that fails, on this thread only; 0 = disarmed.
thread_local long fail_countdown = 0;
thread_local long failures_injected = 0;

void* allocate(std::size_t size) {
  if (fail_countdown > 0 && --fail_countdown == 0) {
    ++failures_injected;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
// Every form that can reach `operator delete` below must come from malloc, or ASan reports a
// mismatch: the nothrow forms too (libcurl's bookkeeping in the transports uses them).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return std::malloc(size == 0 ? 1 : size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return std::malloc(size == 0 ? 1 : size); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace fetchpipe::testing {
namespace {

// Arms the hook for a scope: the `n`th allocation on this thread from now on fails.
class FailNthAllocation {
 public:
  explicit FailNthAllocation(long n) { fail_countdown = n; }
  ~FailNthAllocation() { fail_countdown = 0; }
  FailNthAllocation(const FailNthAllocation&) = delete;
  FailNthAllocation& operator=(const FailNthAllocation&) = delete;
};

class ThrowingTransport final : public Transport {
 public:
  explicit ThrowingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override {
    if (throws_left > 0) {
      --throws_left;
      throw std::bad_alloc();
    }
    return inner_->start(spec, std::move(observer));
  }
  [[nodiscard]] std::string_view name() const override { return "throwing"; }
  int throws_left = 1'000'000;

 private:
  std::shared_ptr<Transport> inner_;
};

TEST(EdgesAllocation, TransportStartThrowingBadAllocIsInternalError) {
  VirtualClient vc;
  auto throwing = std::make_shared<ThrowingTransport>(vc.memory);
  auto options = vc.options();
  options.transport = throwing;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://127.0.0.1:1/x"}, rec.callbacks());
  vc.settle();
  ASSERT_EQ(rec.terminal, 1);
  ASSERT_TRUE(rec.error.has_value());
  EXPECT_EQ(rec.error->kind, ErrorKind::internal_error);
  EXPECT_EQ(rec.error->reason, GiveUpReason::not_retryable);
  EXPECT_EQ(rec.error->attempts.size(), 1u);
  EXPECT_NE(rec.error->message.find("refused the exchange"), std::string::npos) << rec.error->message;
  const auto stats = client.stats();
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST(EdgesAllocation, TransportStartThrowingOnARetryEndsTheFetch) {
  VirtualClient vc;
  vc.memory->script("http://127.0.0.1:1/x", {Scripted::status_code(503)});
  auto throwing = std::make_shared<ThrowingTransport>(vc.memory);
  throwing->throws_left = 0;
  auto options = vc.options();
  options.transport = throwing;
  Client client(options);
  Recorder rec;
  client.fetch({.url = "http://127.0.0.1:1/x"}, rec.callbacks());
  vc.settle();
  throwing->throws_left = 1;  // the retry's start() throws
  vc.advance(1s);
  ASSERT_EQ(rec.terminal, 1);
  EXPECT_EQ(rec.error->kind, ErrorKind::internal_error);
  EXPECT_EQ(rec.error->attempts.size(), 2u);
}

// Walks N = 1, 2, ... until the fetch completes without reaching the Nth allocation: every
// allocation the pipeline and the memory transport make during a fetch with a retry, a redirect
// and a streamed body fails once.
TEST(EdgesAllocation, EveryAllocationOfAFetchFailingOnceEndsItTypedOrThrowsFromFetch) {
  int fetch_threw = 0;
  int typed_failures = 0;
  int successes = 0;
  int escaped_into_transport = 0;
  // FETCHPIPE_ALLOC_N=<n> replays one step of the walk.
  const char* only = std::getenv("FETCHPIPE_ALLOC_N");
  long n = only ? std::atol(only) : 1;
  for (; n < 5'000; ++n) {
    VirtualClient vc;
    vc.memory->script("http://127.0.0.1:1/a", {Scripted::retry_after(503, "1"), Scripted::redirect(302, "/b")});
    vc.memory->script("http://127.0.0.1:1/b", {Scripted::ok(std::string(3000, 'x'), 3)});
    auto options = vc.options();
    options.timeouts.overall = 30s;
    Recorder rec;
    bool threw = false;
    failures_injected = 0;
    {
      Client client(options);
      {
        FailNthAllocation hook(n);
        try {
          client.fetch({.url = "http://127.0.0.1:1/a", .headers = {{"Authorization", "x"}}}, rec.streaming(true));
        } catch (const std::bad_alloc&) {
          threw = true;
        }
        // Drive the fetch with the hook still armed; an exception thrown into the transport's
        // timer (the memory transport does not catch what its observer throws) is counted.
        for (int i = 0; i < 200 && rec.terminal == 0; ++i) {
          try {
            vc.clock->advance(50ms);
            vc.executor->run_all();
          } catch (const std::bad_alloc&) {
            ++escaped_into_transport;
          }
        }
      }
      vc.advance(5s, 100ms);
      const auto stats = client.stats();
      EXPECT_EQ(stats.started, stats.succeeded + stats.failed + stats.cancelled + stats.in_flight) << "N=" << n;
      if (!threw) {
        EXPECT_EQ(stats.in_flight, 0u) << "N=" << n << ": the fetch hangs";
      }
    }
    vc.settle();
    if (threw) {
      ++fetch_threw;
      EXPECT_EQ(rec.terminal, 0) << "N=" << n << ": fetch() threw, yet a callback ran";
    } else {
      ASSERT_EQ(rec.terminal, 1) << "N=" << n;
      if (rec.response) ++successes;
      else if (rec.error && rec.error->kind != ErrorKind::cancelled) ++typed_failures;
    }
    if (failures_injected == 0 || only) break;  // the fetch ran without reaching the Nth allocation
  }
  std::printf("allocation sites walked: %ld; fetch() threw %d, typed failures %d, successes %d, "
              "escaped into the transport %d\n",
              n, fetch_threw, typed_failures, successes, escaped_into_transport);
  if (!only) {
    EXPECT_LT(n, 5'000) << "the walk did not reach the end of the fetch";
    EXPECT_GT(typed_failures, 0);
    // The pipeline catches what fails inside an observer call; nothing reaches the transport's
    // thread, which could not deliver the outcome.
    EXPECT_EQ(escaped_into_transport, 0);
  }
}

}  // namespace
}  // namespace fetchpipe::testing
