#include "fetchpipe/executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>

namespace fetchpipe {
namespace {

TEST(ThreadPoolExecutor, RejectsZeroThreads) {
  try {
    ThreadPoolExecutor pool(0);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("threads"), std::string::npos);
  }
}

TEST(ThreadPoolExecutor, RunsEveryTaskOffTheCallingThread) {
  std::atomic<int> ran{0};
  std::atomic<bool> on_caller{false};
  const auto caller = std::this_thread::get_id();
  {
    ThreadPoolExecutor pool(3);
    for (int i = 0; i < 10'000; ++i) {
      pool.post([&] {
        if (std::this_thread::get_id() == caller) on_caller = true;
        ran.fetch_add(1);
      });
    }
  }  // the destructor runs what is queued
  EXPECT_EQ(ran.load(), 10'000);
  EXPECT_FALSE(on_caller.load());
}

TEST(ThreadPoolExecutor, DestructorRunsTasksPostedByTasks) {
  std::promise<void> inner_ran;
  auto done = inner_ran.get_future();
  {
    ThreadPoolExecutor pool(1);
    pool.post([&] { pool.post([&] { inner_ran.set_value(); }); });
  }
  EXPECT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
}

TEST(ManualExecutor, RunsOnlyWhenAskedInOrder) {
  ManualExecutor ex;
  std::vector<int> order;
  ex.post([&] { order.push_back(1); });
  ex.post([&] { order.push_back(2); ex.post([&] { order.push_back(3); }); });
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(ex.pending(), 2u);
  EXPECT_TRUE(ex.run_one());
  EXPECT_EQ(order, std::vector<int>{1});
  EXPECT_EQ(ex.run_all(), 2u);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(ex.run_one());
}

TEST(InlineExecutor, RunsAtOnceAndSaysSo) {
  InlineExecutor ex;
  bool ran = false;
  ex.post([&] { ran = true; });
  EXPECT_TRUE(ran);
  EXPECT_TRUE(ex.runs_inline());
  EXPECT_FALSE(ManualExecutor{}.runs_inline());
}

}  // namespace
}  // namespace fetchpipe

namespace fetchpipe {
namespace {

TEST(ExecutorRunningHere, TrueOnlyInsideThatExecutorsTask) {
  ThreadPoolExecutor pool(2);
  ThreadPoolExecutor other(1);
  EXPECT_FALSE(pool.running_here());
  std::promise<std::pair<bool, bool>> seen;
  pool.post([&] { seen.set_value({pool.running_here(), other.running_here()}); });
  auto [here, elsewhere] = seen.get_future().get();
  EXPECT_TRUE(here);
  EXPECT_FALSE(elsewhere);

  ManualExecutor manual;
  bool inside = false;
  bool nested_outer = false;
  bool nested_inner = false;
  ManualExecutor inner;
  inner.post([&] {
    nested_outer = manual.running_here();  // still inside manual's task: blocking would block it
    nested_inner = inner.running_here();
  });
  manual.post([&] {
    inside = manual.running_here();
    inner.run_one();
  });
  manual.run_one();
  EXPECT_TRUE(inside);
  EXPECT_TRUE(nested_outer);
  EXPECT_TRUE(nested_inner);
  EXPECT_FALSE(manual.running_here());
  EXPECT_FALSE(InlineExecutor{}.running_here());
}

}  // namespace
}  // namespace fetchpipe
