// The simulated server's model, driven directly through the Transport interface in virtual time:
// workers, the FIFO queue and its limit, work done for clients that already left, the fault
// window, and the Transport rules (never calls the observer inside start() or cancel()).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include <fetchpipe/simulate/simulated_server.hpp>

namespace fetchpipe::simulate {
namespace {

using namespace std::chrono_literals;

// Records what one exchange reported, and when.
struct Seen final : ExchangeObserver {
  explicit Seen(std::shared_ptr<ManualScheduler> c) : clock(std::move(c)) {}
  void on_head(ResponseHead head) override { status = head.status; }
  bool on_body(std::string_view) override { return true; }
  void on_complete(ExchangeResult result) override {
    ++completions;
    error = result.error;
    at = clock->now();
  }
  std::shared_ptr<ManualScheduler> clock;
  std::optional<int> status;
  std::optional<ErrorKind> error;
  int completions = 0;
  TimePoint at{};
};

class SimulatedServerTest : public ::testing::Test {
 protected:
  void make(ServerModel model) { server_ = std::make_shared<SimulatedServer>(clock_, model, 7); }

  // Starts one exchange with the client's deadline `timeout` from now.
  std::shared_ptr<Seen> send(std::chrono::nanoseconds timeout = 10s, std::shared_ptr<Exchange>* exchange = nullptr) {
    auto seen = std::make_shared<Seen>(clock_);
    ExchangeSpec spec;
    spec.request = &request_;
    spec.deadline = clock_->now() + timeout;
    auto ex = server_->start(spec, seen);
    if (exchange) *exchange = ex;
    return seen;
  }

  [[nodiscard]] double ms_since_start(const Seen& s) const {
    return std::chrono::duration<double, std::milli>(s.at - start_).count();
  }

  std::shared_ptr<ManualScheduler> clock_ = std::make_shared<ManualScheduler>();
  TimePoint start_ = clock_->now();
  Request request_{.url = "http://simulated.invalid/x"};
  std::shared_ptr<SimulatedServer> server_;
};

TEST_F(SimulatedServerTest, AnIdleWorkerAnswers200AfterAboutTheServiceTime) {
  make(ServerModel{.workers = 1, .service = {.typical = 100ms}});
  auto seen = send();
  EXPECT_EQ(seen->completions, 0) << "never inside start()";
  clock_->advance(200ms);
  ASSERT_EQ(seen->completions, 1);
  EXPECT_EQ(seen->status, 200);
  EXPECT_FALSE(seen->error);
  EXPECT_GE(ms_since_start(*seen), 80.0);
  EXPECT_LE(ms_since_start(*seen), 120.0);
  EXPECT_EQ(server_->counts().served, 1u);
}

TEST_F(SimulatedServerTest, RequestsBeyondTheWorkersQueueInArrivalOrder) {
  make(ServerModel{.workers = 1, .service = {.typical = 100ms}});
  auto first = send();
  auto second = send();
  auto third = send();
  EXPECT_EQ(server_->counts().queued, 2u);
  clock_->advance(1s);
  ASSERT_EQ(third->completions, 1);
  EXPECT_LT(first->at, second->at);
  EXPECT_LT(second->at, third->at);
  EXPECT_GE(ms_since_start(*third), 240.0);  // three services of 80..120 ms, one after another
  EXPECT_EQ(server_->counts().served, 3u);
}

TEST_F(SimulatedServerTest, AFullQueueRefusesAtOnceWith503AndNoWorkerTime) {
  make(ServerModel{.workers = 1, .queue_limit = 1, .service = {.typical = 100ms}});
  auto served = send();
  auto queued = send();
  auto refused = send();
  clock_->advance(1ms);
  ASSERT_EQ(refused->completions, 1);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(queued->completions, 0);
  clock_->advance(1s);
  EXPECT_EQ(queued->status, 200);
  const auto c = server_->counts();
  EXPECT_EQ(c.arrivals, 3u);
  EXPECT_EQ(c.refused, 1u);
  EXPECT_EQ(c.served, 2u);
}

// The heart of the overload scenario: a client that gave up does not free the server.
TEST_F(SimulatedServerTest, WorkForAClientThatTimedOutIsStillDoneAndWasted) {
  make(ServerModel{.workers = 1, .service = {.typical = 100ms}});
  auto busy = send();
  auto impatient = send(50ms);  // waits behind `busy` and gives up first
  auto patient = send();
  clock_->advance(50ms);
  ASSERT_EQ(impatient->completions, 1);
  EXPECT_EQ(impatient->error, ErrorKind::attempt_timeout);
  EXPECT_FALSE(impatient->status);
  clock_->advance(1s);
  ASSERT_EQ(patient->completions, 1);
  // `patient` waited for the abandoned request's full service too.
  EXPECT_GE(ms_since_start(*patient), 240.0);
  const auto c = server_->counts();
  EXPECT_EQ(c.wasted, 1u);
  EXPECT_EQ(c.served, 2u);
  EXPECT_EQ(impatient->completions, 1) << "exactly one completion, even when the server finishes later";
}

TEST_F(SimulatedServerTest, TheFaultWindowAnswers503WithoutAWorker) {
  make(ServerModel{.workers = 1, .service = {.typical = 100ms}, .fault_from = 1s, .fault_until = 2s});
  clock_->advance(1s);
  auto in_fault = send();
  auto also_in_fault = send();
  clock_->advance(1ms);
  EXPECT_EQ(in_fault->status, 503);
  EXPECT_EQ(also_in_fault->status, 503);
  clock_->advance(1s);
  auto after = send();
  clock_->advance(200ms);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(server_->counts().faulted, 2u);
}

TEST_F(SimulatedServerTest, CancelCompletesLaterWithCancelledAndTheServerStillWorks) {
  make(ServerModel{.workers = 1, .service = {.typical = 100ms}});
  std::shared_ptr<Exchange> exchange;
  auto seen = send(10s, &exchange);
  exchange->cancel();
  EXPECT_EQ(seen->completions, 0) << "never inside cancel()";
  clock_->run_due();
  ASSERT_EQ(seen->completions, 1);
  EXPECT_EQ(seen->error, ErrorKind::cancelled);
  exchange->cancel();  // idempotent
  clock_->advance(1s);
  EXPECT_EQ(seen->completions, 1);
  EXPECT_EQ(server_->counts().wasted, 1u);
}

TEST_F(SimulatedServerTest, UnlimitedWorkersServeEveryRequestAtOnce) {
  make(ServerModel{.service = {.typical = 10ms, .slow_fraction = 1.0, .slow = 1s}});
  std::vector<std::shared_ptr<Seen>> all;
  for (int i = 0; i < 50; ++i) all.push_back(send());
  clock_->advance(1200ms);
  for (const auto& s : all) {
    EXPECT_EQ(s->status, 200);
    EXPECT_GE(ms_since_start(*s), 800.0);  // all slow, none queued behind another
  }
}

TEST_F(SimulatedServerTest, RejectsAModelOutOfRange) {
  EXPECT_THROW(SimulatedServer(clock_, ServerModel{.workers = 0}, 1), std::invalid_argument);
  EXPECT_THROW(SimulatedServer(nullptr, ServerModel{}, 1), std::invalid_argument);
  EXPECT_THROW(SimulatedServer(clock_, ServerModel{.fault_from = 2s, .fault_until = 1s}, 1), std::invalid_argument);
}

}  // namespace
}  // namespace fetchpipe::simulate
