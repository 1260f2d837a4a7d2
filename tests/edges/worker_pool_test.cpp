// A full worker pool: the httplib transport with one worker, held by hung requests. Fetches
// queued behind them still end by their own deadline (the watchdog expires queued exchanges), as
// deadline_exceeded, and the pool serves normally once the hung ones are gone.
#include <future>

#include "conformance_support.hpp"

namespace fetchpipe::conformance {
namespace {

TEST(EdgesWorkerPool, QueuedFetchesBehindHungOnesEndByTheirDeadline) {
  tools::FaultServer server;
  ClientOptions options;
  options.transport = std::make_shared<HttplibTransport>(HttplibTransport::Options{.workers = 1});
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(DefaultRetryPolicy::Options{.max_attempts = 1});
  options.backoff_policy = std::make_shared<ExponentialBackoff>();
  options.callback_executor = std::make_shared<ThreadPoolExecutor>(2);
  options.timeouts.overall = 1s * kSlack;
  Client client(options);

  struct Watch {
    std::promise<Error> failed;
    std::promise<Response> succeeded;
  };
  auto start = [&](const std::string& path, std::shared_ptr<Watch> w) {
    return client.fetch({.url = server.url(path)},
                        {.on_success = [w](Response r) { w->succeeded.set_value(std::move(r)); },
                         .on_failure = [w](Error e) { w->failed.set_value(std::move(e)); },
                         .on_cancel = [w](Error e) { w->failed.set_value(std::move(e)); }});
  };
  const auto began = Clock::now();
  std::vector<std::shared_ptr<Watch>> hung;
  for (int i = 0; i < 8; ++i) {
    hung.push_back(std::make_shared<Watch>());
    start("/hang", hung.back());
  }
  auto queued = std::make_shared<Watch>();
  start("/fixed", queued);  // behind eight hung requests on one worker

  const auto limit = 1s * kSlack + 5s;  // the deadline, plus generous slack
  for (auto& w : hung) {
    auto f = w->failed.get_future();
    ASSERT_EQ(f.wait_for(limit), std::future_status::ready) << "a hung fetch outlived its deadline";
    const Error e = f.get();
    EXPECT_EQ(e.kind, ErrorKind::deadline_exceeded) << e.message;
  }
  auto f = queued->failed.get_future();
  ASSERT_EQ(f.wait_for(limit), std::future_status::ready) << "the queued fetch outlived its deadline";
  EXPECT_EQ(f.get().kind, ErrorKind::deadline_exceeded);
  EXPECT_LT(Clock::now() - began, limit);

  // The worker is free again.
  auto after = std::make_shared<Watch>();
  start("/fixed", after);
  auto ok = after->succeeded.get_future();
  ASSERT_EQ(ok.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(ok.get().status, 200);
}

}  // namespace
}  // namespace fetchpipe::conformance
