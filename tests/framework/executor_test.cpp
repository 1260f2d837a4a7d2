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
