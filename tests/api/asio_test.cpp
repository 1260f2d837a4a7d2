// <fetchpipe/asio.hpp>: async_fetch with every kind of completion token, on a multi-threaded
// io_context, through both real transports against the fault server.
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "api_support.hpp"
#include "fetchpipe/asio.hpp"

namespace fetchpipe::api_test {
namespace {

// An io_context run by four threads for the test's lifetime.
class IoThreads {
 public:
  IoThreads() : guard_(asio::make_work_guard(io_)) {
    for (int i = 0; i < 4; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& io() { return io_; }
  [[nodiscard]] bool on_io_thread() const {
    for (const auto& t : threads_) {
      if (t.get_id() == std::this_thread::get_id()) return true;
    }
    return false;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

class Asio : public conformance::ServerSuite {};

TEST_P(Asio, ManyAwaitingCoroutinesOnAMultiThreadedIoContext) {
  Runner run(GetParam());
  constexpr int kCount = 24;
  std::atomic<int> ok{0};
  std::atomic<int> off_thread{0};
  std::promise<void> all_done;
  std::atomic<int> remaining{kCount};
  {
    IoThreads io;
    for (int i = 0; i < kCount; ++i) {
      asio::co_spawn(io.io(), [&]() -> asio::awaitable<void> {
        Result r = co_await async_fetch(run.client(), url("/delay?ms=10"), asio::use_awaitable);
        if (r && r->status == 200) ok.fetch_add(1);
        if (!io.on_io_thread()) off_thread.fetch_add(1);
        if (remaining.fetch_sub(1) == 1) all_done.set_value();
      }, asio::detached);
    }
    ASSERT_EQ(all_done.get_future().wait_for(60s * kSlack), std::future_status::ready);
  }
  EXPECT_EQ(ok.load(), kCount);
  EXPECT_EQ(off_thread.load(), 0) << "a coroutine resumed off the io_context's threads";
}

TEST_P(Asio, UseFuture) {
  Runner run(GetParam());
  IoThreads io;
  std::future<Result> f = async_fetch(run.client(), {.url = url("/fixed")}, asio::use_future);
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  Result r = f.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "hello from fetchpipe\n");
}

TEST_P(Asio, DeferredStartsOnlyWhenLaunched) {
  Runner run(GetParam());
  IoThreads io;
  auto op = async_fetch(run.client(), {.url = url("/fixed")}, asio::experimental::deferred);
  EXPECT_EQ(run.client().stats().started, 0u);
  std::promise<Result> out;
  std::move(op)([&](Result r) { out.set_value(std::move(r)); });
  auto f = out.get_future();
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  EXPECT_TRUE(f.get());
  EXPECT_EQ(run.client().stats().started, 1u);
}

TEST_P(Asio, PlainHandlerCompletesOnItsAssociatedExecutor) {
  Runner run(GetParam());
  IoThreads io;
  auto strand = asio::make_strand(io.io());
  std::promise<bool> in_strand;
  async_fetch(run.client(), {.url = url("/fixed")},
              asio::bind_executor(strand, [&](Result) { in_strand.set_value(strand.running_in_this_thread()); }));
  auto f = in_strand.get_future();
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

TEST_P(Asio, CancellationSlotCancelsTheFetch) {
  Runner run(GetParam());
  IoThreads io;
  asio::cancellation_signal signal;
  std::promise<Result> out;
  auto strand = asio::make_strand(io.io());
  async_fetch(run.client(), {.url = url("/hang")},
              asio::bind_cancellation_slot(signal.slot(), asio::bind_executor(strand, [&](Result r) {
                                             out.set_value(std::move(r));
                                           })));
  auto f = out.get_future();
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  // The signal is emitted on the handler's strand, as Asio requires of a slot's owner.
  asio::post(strand, [&] { signal.emit(asio::cancellation_type::terminal); });
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  EXPECT_TRUE(f.get().cancelled());
}

TEST_P(Asio, AwaitableOperatorCancelsTheLoser) {
  using namespace asio::experimental::awaitable_operators;
  Runner run(GetParam());
  IoThreads io;
  std::promise<std::size_t> winner;
  asio::co_spawn(io.io(), [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    const Request hang{.url = url("/hang")};  // named: see coroutine.hpp on GCC 12
    auto which = co_await (async_fetch(run.client(), hang, asio::use_awaitable) ||
                           timer.async_wait(asio::use_awaitable));
    winner.set_value(which.index());
  }, asio::detached);
  auto f = winner.get_future();
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  EXPECT_EQ(f.get(), 1u);  // the timer
  ASSERT_TRUE(eventually([&] { return run.client().stats().cancelled == 1; }));
}

TEST_P(Asio, DestroyingTheClientCompletesPendingOperationsCancelled) {
  auto run = std::make_unique<Runner>(GetParam());
  IoThreads io;
  std::promise<Result> out;
  async_fetch(run->client(), {.url = url("/hang")},
              asio::bind_executor(io.io(), [&](Result r) { out.set_value(std::move(r)); }));
  run.reset();
  auto f = out.get_future();
  ASSERT_EQ(f.wait_for(30s * kSlack), std::future_status::ready);
  EXPECT_TRUE(f.get().cancelled());
}

INSTANTIATE_TEST_SUITE_P(Transports, Asio, ::testing::Values("curl", "httplib"));

}  // namespace
}  // namespace fetchpipe::api_test
