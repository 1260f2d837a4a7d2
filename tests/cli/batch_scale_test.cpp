// `get -i` at scale, as a child process against the in-process fault server: 10,000 lines with
// 5 % failures and random cuts (resumed), SIGKILL at a random moment, then a re-run with the same
// journal. Every line is reported exactly once over the two runs, the journal is whole after the
// kill, nothing that had succeeded is fetched again, and the peak RSS stays small. And 10,000
// identical names in one directory: distinct files, nothing written outside or through a link.
//
// FETCHPIPE_SCALE_LINES overrides the line count (benchmarks/batch_scale runs it at 10,000 and
// records the figures in BENCHMARKS.md).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fetchpipe/tools/fault_server.hpp>

#include "child_process.hpp"
#include "mini_json.hpp"
#include "temp_dir.hpp"

namespace fetchpipe::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
const std::string kCli = FETCHPIPE_CLI_PATH;

// Peak RSS allowed for a batch (about 17 MiB measured). Under AddressSanitizer the tool keeps up
// to 256 MiB of freed memory in quarantine, so only a runaway shows there.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssBoundKib = 1024 * 1024;
#else
constexpr long kRssBoundKib = 200 * 1024;
#endif

int scale_lines() {
  const char* text = std::getenv("FETCHPIPE_SCALE_LINES");
  const int n = text != nullptr ? std::atoi(text) : 0;
  return n > 0 ? n : 10000;
}

// The server holds a connection per fetch in flight: leave room for -j 64 and the client's own.
void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 65536);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Complete JSON lines of `text` (a line cut by SIGKILL, without its newline, is left out).
std::vector<Json> json_lines(const std::string& text) {
  std::vector<Json> out;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; start = nl + 1, nl = text.find('\n', start)) {
    auto json = parse_json(text.substr(start, nl - start));
    if (!json) {
      ADD_FAILURE() << "not a JSON line: " << text.substr(start, nl - start);
      continue;
    }
    out.push_back(*json);
  }
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

// What line i (1-based) fetches, and how many requests its success costs the server.
struct Line {
  std::string url;
  int requests_per_success = 1;
  bool fails = false;
};

class BatchScaleTest : public ::testing::Test {
 protected:
  void SetUp() override { raise_fd_limit(); }
  tools::FaultServer server_;
  TempDir dir_{memory_temp_parent()};
};

TEST_F(BatchScaleTest, KilledAtRandom_JournalWhole_ReRunFinishesTheRest_NothingFetchedTwice) {
  const int n = scale_lines();
  std::mt19937 rng(20261205);
  std::vector<Line> lines(static_cast<std::size_t>(n) + 1);
  std::string input;
  for (int i = 1; i <= n; ++i) {
    Line& line = lines[static_cast<std::size_t>(i)];
    const auto pick = rng() % 100;
    if (pick < 5) {  // 5 %: a status that is not retried
      line.url = server_.url(fmt::format("/status?code=404&key=k{}", i));
      line.fails = true;
    } else if (pick < 20) {  // 15 %: cut at a random byte, then resumed
      line.url = server_.url(fmt::format("/resumable?n=4096&cuts={}&key=k{}", 1 + rng() % 4095, i));
      line.requests_per_success = 2;
    } else {
      line.url = server_.url(fmt::format("/bytes?n=1024&key=k{}", i));
    }
    input += line.url + "\n";
  }
  const fs::path input_path = dir_.path() / "input.txt";
  std::ofstream(input_path) << input;
  const fs::path out = dir_.path() / "out";
  const fs::path journal = dir_.path() / "journal";
  const std::vector<std::string> argv{kCli, "get", "-i", input_path.string(), "--output-dir", out.string(),
                                      "--journal", journal.string(), "-j", "64", "--max-per-host", "64",
                                      "--backoff-initial", "0ms", "--no-retry-budget", "--json"};

  // Run 1, killed after a random share of the lines.
  // The lines are the same every run; the moment of the kill is not (it is printed below).
  std::random_device entropy;
  const auto kill_after = static_cast<std::size_t>(n / 10 + static_cast<int>(entropy() % static_cast<unsigned>(n * 6 / 10)));
  ChildResult first;
  {
    ChildProcess child(argv);
    ASSERT_TRUE(child.read_until([&](const std::string& o, const std::string&) {
      return static_cast<std::size_t>(std::count(o.begin(), o.end(), '\n')) >= kill_after;
    }, 120s));
    child.send_signal(SIGKILL);
    first = child.wait(30s);
  }
  ASSERT_EQ(first.term_signal, SIGKILL);
  std::set<int> printed_ok;
  for (const auto& j : json_lines(first.out)) {
    if (j["outcome"].string() == "success") printed_ok.insert(static_cast<int>(j["line"].number()));
  }

  // The journal after the kill: whole records only, each line once, every printed success in it.
  const std::string journal_text = read_file(journal);
  ASSERT_FALSE(journal_text.empty());
  EXPECT_EQ(journal_text.back(), '\n') << "a torn record";
  std::map<int, std::string> journaled;
  for (const auto& j : json_lines(journal_text)) {
    const int line = static_cast<int>(j["line"].number());
    EXPECT_TRUE(journaled.emplace(line, j["outcome"].string()).second) << "line " << line << " journaled twice";
    EXPECT_EQ(j["url"].string(), lines[static_cast<std::size_t>(line)].url);
  }
  for (const int line : printed_ok) EXPECT_EQ(journaled[line], "success") << line;
  std::set<int> succeeded_first;
  for (const auto& [line, outcome] : journaled) {
    if (outcome == "success") succeeded_first.insert(line);
  }
  const std::map<std::string, int> counts_after_first = [&] {
    std::map<std::string, int> counts;
    for (const int line : succeeded_first) counts[fmt::format("k{}", line)] = server_.count(fmt::format("k{}", line));
    return counts;
  }();

  // Run 2, to the end, with the same journal.
  const auto second = run_child(argv, 300s);
  EXPECT_EQ(second.exit_code, 7) << second.err.substr(0, 2000);
  std::set<int> reported;
  int failed = 0;
  int succeeded_second = 0;
  for (const auto& j : json_lines(second.out)) {
    const int line = static_cast<int>(j["line"].number());
    EXPECT_TRUE(reported.insert(line).second) << "line " << line << " reported twice";
    EXPECT_EQ(succeeded_first.count(line), 0u) << "line " << line << " had succeeded and was fetched again";
    const bool ok = j["outcome"].string() == "success";
    EXPECT_EQ(ok, !lines[static_cast<std::size_t>(line)].fails) << "line " << line << ": " << j["outcome"].string();
    ok ? ++succeeded_second : ++failed;
  }
  for (int i = 1; i <= n; ++i) {
    EXPECT_EQ(reported.count(i) + succeeded_first.count(i), 1u) << "line " << i << " is not accounted for once";
  }
  // What had succeeded saw no request more; what succeeded now cost exactly its own requests.
  for (const auto& [key, count] : counts_after_first) EXPECT_EQ(server_.count(key), count) << key;
  for (const int line : succeeded_first) {
    EXPECT_EQ(counts_after_first.at(fmt::format("k{}", line)), lines[static_cast<std::size_t>(line)].requests_per_success)
        << line;
  }
  const auto summary = parse_json(second.last_err_line());
  ASSERT_TRUE(summary) << second.err.substr(0, 2000);
  EXPECT_EQ((*summary)["skipped"].number(), static_cast<double>(succeeded_first.size()));
  EXPECT_EQ((*summary)["failed"].number(), failed);
  EXPECT_EQ((*summary)["succeeded"].number(), succeeded_second);

  // One complete file per success (a SIGKILL may leave a hidden temporary file, never a name).
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.path().filename().string().front() == '.') continue;
    const auto size = fs::file_size(e.path());
    EXPECT_TRUE(size == 1024 || size == 4096) << e.path() << " " << size;
    ++files;
  }
  // Plus, at most, the file of each line the kill caught between naming it and journaling it (the
  // re-run fetched those again): the main thread completes lines one at a time, -j 64 bounds it.
  const std::size_t expected_files = succeeded_first.size() + static_cast<std::size_t>(succeeded_second);
  EXPECT_GE(files, expected_files);
  EXPECT_LE(files, expected_files + 64);

  std::cout << fmt::format("[ figures  ] {} lines; run 1 killed after {} lines ({} journaled as succeeded); "
                           "peak RSS run 1 {} KiB, run 2 {} KiB\n",
                           n, kill_after, succeeded_first.size(), first.max_rss_kb, second.max_rss_kb);
  RecordProperty("peak_rss_kib_run2", static_cast<int>(second.max_rss_kb));
  EXPECT_LT(second.max_rss_kb, kRssBoundKib) << "memory must not grow with the line count";
}

TEST_F(BatchScaleTest, TenThousandIdenticalNames_DistinctFilesNothingOutside) {
  const int n = scale_lines();
  const fs::path out = dir_.path() / "out";
  fs::create_directories(out);
  // Already there: a file that keeps its bytes, and a link whose target must stay untouched.
  std::ofstream(out / "bytes.5") << "mine";
  std::ofstream(dir_.path() / "target") << "outside";
  fs::create_symlink(dir_.path() / "target", out / "bytes.7");
  std::string input;
  for (int i = 0; i < n; ++i) input += server_.url("/bytes?n=16") + "\n";
  std::ofstream(dir_.path() / "input.txt") << input;
  const auto r = run_child({kCli, "get", "-i", (dir_.path() / "input.txt").string(), "--output-dir", out.string(),
                            "-j", "64", "--max-per-host", "64", "--json"},
                           300s);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  std::cout << "[ figures  ] " << r.last_err_line() << "\n";
  std::set<std::string> outputs;
  for (const auto& j : json_lines(r.out)) {
    EXPECT_EQ(j["outcome"].string(), "success");
    EXPECT_TRUE(outputs.insert(j["output"].string()).second) << "two lines named " << j["output"].string();
  }
  EXPECT_EQ(outputs.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(outputs.count((out / "bytes.5").string()), 0u);
  EXPECT_EQ(outputs.count((out / "bytes.7").string()), 0u);
  EXPECT_EQ(read_file(out / "bytes.5"), "mine");
  EXPECT_EQ(read_file(dir_.path() / "target"), "outside");
  EXPECT_TRUE(fs::is_symlink(out / "bytes.7"));
  // Nothing else appeared beside the output directory, and every name inside is a complete file.
  std::set<std::string> beside;
  for (const auto& e : fs::directory_iterator(dir_.path())) beside.insert(e.path().filename().string());
  EXPECT_EQ(beside, (std::set<std::string>{"input.txt", "out", "target"}));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    if (fs::is_symlink(e.path())) continue;
    EXPECT_EQ(fs::file_size(e.path()), e.path().filename() == "bytes.5" ? 4u : 16u) << e.path();
    ++files;
  }
  EXPECT_EQ(files, static_cast<std::size_t>(n) + 1);
}

}  // namespace
}  // namespace fetchpipe::test
