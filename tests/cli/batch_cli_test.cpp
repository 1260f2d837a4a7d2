// `fetchpipe get -i`: batch mode run as a child process against the in-process fault server —
// one JSON line per input line, exit codes, safe names (nothing ever written outside
// --output-dir, never through a link), the journal across SIGKILL, SIGINT, and scale.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
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

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

// The JSON lines of stdout, by input line number (a line reported twice fails the test).
std::map<int, Json> lines_of(const std::string& out) {
  std::map<int, Json> lines;
  std::istringstream in(out);
  std::string text;
  while (std::getline(in, text)) {
    auto json = parse_json(text);
    if (!json) {
      ADD_FAILURE() << "stdout line is not JSON: " << text;
      continue;
    }
    const int n = static_cast<int>((*json)["line"].number());
    EXPECT_TRUE(lines.emplace(n, *json).second) << "line " << n << " reported twice";
  }
  return lines;
}

Json summary_of(const ChildResult& r) {
  auto json = parse_json(r.last_err_line());
  if (!json) {
    ADD_FAILURE() << "last stderr line is not JSON:\n" << r.err;
    return Json{nullptr};
  }
  return *json;
}

// Every path under `root` (recursively), relative, links included and not followed.
std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    paths.insert(fs::relative(it->path(), root).string());
  }
  return paths;
}

class BatchCliTest : public ::testing::Test {
 protected:
  // `get -i INPUT --output-dir OUT --json` plus `extra`, with INPUT holding `input`.
  ChildResult run_batch(const std::string& input, std::vector<std::string> extra = {},
                        std::chrono::milliseconds timeout = 60s) {
    write_file(dir_.path() / "input.txt", input);
    std::vector<std::string> argv{kCli, "get", "-i", (dir_.path() / "input.txt").string(), "--output-dir",
                                  out_dir().string(), "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_child(argv, timeout);
  }
  fs::path out_dir() const { return dir_.path() / "out"; }
  std::string out_path(const std::string& name) const { return (out_dir() / name).string(); }

  tools::FaultServer server_;
  TempDir dir_;
};

TEST_F(BatchCliTest, EveryLineReportedOnceWithItsNumber_Exit7OnAFailure) {
  const std::string input = fmt::format(
      "# comment\n{}\n\n{}\n  {}  \r\nnot a url\n{{\"url\": \"{}\", \"output\": \"sub/b.bin\"}}\n",
      server_.url("/fixed"), server_.url("/status?code=404"), server_.url("/bytes?n=1000"),
      server_.url("/bytes?n=10"));
  const auto r = run_batch(input);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines.at(2)["outcome"].string(), "success");
  EXPECT_EQ(lines.at(2)["status"].number(), 200);
  EXPECT_EQ(lines.at(2)["output"].string(), out_path("fixed"));
  EXPECT_EQ(lines.at(2)["bytes"].number(), 21);
  EXPECT_EQ(lines.at(2)["attempts"].number(), 1);
  EXPECT_TRUE(lines.at(2)["error"].is_null());
  EXPECT_TRUE(lines.at(2)["reason"].is_null());
  EXPECT_TRUE(lines.at(2)["elapsed_ms"].is_number());
  EXPECT_EQ(lines.at(4)["outcome"].string(), "failure");
  EXPECT_EQ(lines.at(4)["status"].number(), 404);
  EXPECT_EQ(lines.at(4)["error"]["kind"].string(), "http_status");
  EXPECT_TRUE(lines.at(4)["output"].is_null());
  EXPECT_EQ(lines.at(5)["url"].string(), server_.url("/bytes?n=1000"));
  EXPECT_EQ(lines.at(5)["output"].string(), out_path("bytes"));
  EXPECT_EQ(lines.at(6)["error"]["kind"].string(), "invalid_request");
  EXPECT_EQ(lines.at(6)["attempts"].number(), 0);
  EXPECT_EQ(lines.at(7)["output"].string(), out_path("sub/b.bin"));
  EXPECT_EQ(read_file(out_dir() / "fixed"), "hello from fetchpipe\n");
  EXPECT_EQ(fs::file_size(out_dir() / "bytes"), 1000u);
  EXPECT_EQ(fs::file_size(out_dir() / "sub" / "b.bin"), 10u);
  // Only the successes are there: no temporary file, no body of the 404.
  EXPECT_EQ(tree(out_dir()), (std::set<std::string>{"fixed", "bytes", "sub", "sub/b.bin"}));
  const auto s = summary_of(r);
  EXPECT_EQ(s["outcome"].string(), "failure");
  EXPECT_EQ(s["total"].number(), 5);
  EXPECT_EQ(s["succeeded"].number(), 3);
  EXPECT_EQ(s["failed"].number(), 2);
  EXPECT_EQ(s["cancelled"].number(), 0);
  EXPECT_EQ(s["skipped"].number(), 0);
  EXPECT_EQ(s["bytes"].number(), 1031);
}

TEST_F(BatchCliTest, AllSucceeded_Exit0) {
  const auto r = run_batch(server_.url("/fixed") + "\n" + server_.url("/bytes?n=5"));  // no final newline
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 2u);
  EXPECT_EQ(summary_of(r)["outcome"].string(), "success");
}

TEST_F(BatchCliTest, UsageErrors_Exit2) {
  EXPECT_EQ(run_child({kCli, "get", "-i", (dir_.path() / "missing.txt").string()}).exit_code, 2);
  EXPECT_EQ(run_child({kCli, "get", "-i", dir_.path().string(), "--output-dir", out_dir().string()}).exit_code, 2);
  write_file(dir_.path() / "in", server_.url("/fixed") + "\n");
  const auto in = (dir_.path() / "in").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-i", in, server_.url("/fixed")},
           {"-i", in, "-o", "x"},
           {"-i", in, "-j", "0"},
           {"-i", in, "-j", "10001"},
           {"-i", in, "--max-per-host", "0"},
           {"-i", in, "--rate", "5"},
           {"-i", in, "--rate", "0/s"},
           {"-i", in, "--rate", "x/m"},
           {server_.url("/fixed"), "--output-dir", "d"},
           {server_.url("/fixed"), "--journal", "j"},
       }) {
    std::vector<std::string> argv{kCli, "get"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_child(argv);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  }
  EXPECT_EQ(server_.total_count(), 0);
}

TEST_F(BatchCliTest, StdinInput) {
  write_file(dir_.path() / "in", server_.url("/fixed") + "\n");
  const auto r = run_child({"/bin/sh", "-c",
                            fmt::format("exec '{}' get -i - --output-dir '{}' < '{}'", kCli, out_dir().string(),
                                        (dir_.path() / "in").string())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(out_dir() / "fixed"), "hello from fetchpipe\n");
}

TEST_F(BatchCliTest, TakenNamesGetSuffixes_IncludingFilesFromBefore) {
  fs::create_directories(out_dir());
  write_file(out_dir() / "fixed", "mine");
  write_file(out_dir() / "fixed.1", "mine too");
  std::string input;
  for (int i = 0; i < 3; ++i) input += server_.url("/fixed") + "\n";
  const auto r = run_batch(input, {"-j", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(out_dir() / "fixed"), "mine");
  EXPECT_EQ(read_file(out_dir() / "fixed.1"), "mine too");
  std::set<std::string> outputs;
  for (const auto& [n, line] : lines_of(r.out)) outputs.insert(line["output"].string());
  EXPECT_EQ(outputs, (std::set<std::string>{out_path("fixed.2"), out_path("fixed.3"), out_path("fixed.4")}));
  for (const auto* name : {"fixed.2", "fixed.3", "fixed.4"}) {
    EXPECT_EQ(read_file(out_dir() / name), "hello from fetchpipe\n");
  }
}

TEST_F(BatchCliTest, ALinkInTheOutputDirIsNeverWrittenThrough) {
  fs::create_directories(out_dir());
  const fs::path victim = dir_.path() / "victim";
  write_file(victim, "precious");
  fs::create_symlink(victim, out_dir() / "fixed");
  fs::create_symlink(dir_.path() / "nowhere", out_dir() / "bytes");  // dangling
  fs::create_directories(dir_.path() / "elsewhere");
  fs::create_directory_symlink(dir_.path() / "elsewhere", out_dir() / "linkdir");
  const std::string input = fmt::format("{}\n{}\n{{\"url\":\"{}\",\"output\":\"linkdir/x\"}}\n",
                                        server_.url("/fixed"), server_.url("/bytes?n=3"), server_.url("/fixed"));
  const auto r = run_batch(input);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(read_file(victim), "precious");
  EXPECT_FALSE(fs::exists(dir_.path() / "nowhere"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "elsewhere"));
  EXPECT_TRUE(fs::is_symlink(out_dir() / "fixed"));
  EXPECT_TRUE(fs::is_symlink(out_dir() / "bytes"));
  EXPECT_EQ(read_file(out_dir() / "fixed.1"), "hello from fetchpipe\n");
  EXPECT_EQ(fs::file_size(out_dir() / "bytes.1"), 3u);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.count(3), 1u);
  EXPECT_EQ(lines.at(3)["outcome"].string(), "failure");
  EXPECT_NE(lines.at(3)["error"]["message"].string().find("not a directory"), std::string::npos);
}

TEST_F(BatchCliTest, HostileNamesStayInside) {
  const std::string long_segment(300, 'n');
  const std::vector<std::string> urls{
      server_.url("/echo/..%2F..%2Fescaped"),   server_.url("/echo/%2Fetc%2Fpasswd"),
      server_.url("/echo/%2e%2e"),              server_.url("/echo/..."),
      server_.url("/echo/.hidden"),             server_.url("/echo/a%00b"),
      server_.url("/echo/a%0Ab%1B%7F"),         server_.url("/echo/back%5Cslash"),
      server_.url("/echo/" + long_segment),     server_.url("/echo/"),
  };
  std::string input;
  for (const auto& u : urls) input += u + "\n";
  // "output" members that try to leave: each line is its own failure, nothing is sent for it.
  for (const auto* output : {"../x", "../../x", "/tmp/x", "a/../../x", "a\\u0000b", "a\\nb", "", "."}) {
    input += fmt::format("{{\"url\":\"{}\",\"output\":\"{}\"}}\n", server_.url("/fixed?key=bad"), output);
  }
  const fs::path parent = dir_.path();
  const auto r = run_batch(input);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(server_.count("bad"), 0);
  const auto lines = lines_of(r.out);
  EXPECT_EQ(lines.size(), urls.size() + 8);
  std::set<std::string> names;
  for (const auto& [n, line] : lines) {
    if (static_cast<std::size_t>(n) <= urls.size()) {
      EXPECT_EQ(line["outcome"].string(), "success") << n << " " << line["url"].string() << " " << (line["error"].is_null() ? "" : line["error"]["message"].string());
      names.insert(fs::path(line["output"].string()).filename().string());
    } else {
      EXPECT_EQ(line["error"]["kind"].string(), "invalid_request") << n;
    }
  }
  // Nothing outside --output-dir: the parent holds only what the test put there.
  std::set<std::string> parent_entries;
  for (const auto& e : fs::directory_iterator(parent)) parent_entries.insert(e.path().filename().string());
  EXPECT_EQ(parent_entries, (std::set<std::string>{"input.txt", "out"}));
  for (const auto& name : tree(out_dir())) {
    EXPECT_EQ(name.find('/'), std::string::npos) << name;  // no subdirectory was made
    EXPECT_NE(name.front(), '.') << name;
    EXPECT_LE(name.size(), 210u) << name;
    for (const char c : name) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') << name;
  }
  EXPECT_TRUE(names.count("index.html")) << fmt::format("{}", fmt::join(names, ","));
  EXPECT_TRUE(names.count("hidden"));
  EXPECT_TRUE(names.count(".._.._escaped") == 0);
  EXPECT_TRUE(names.count("_.._escaped"));
  EXPECT_TRUE(names.count(std::string(200, 'n')));
}

TEST_F(BatchCliTest, JournalSkipsWhatSucceeded) {
  const fs::path journal = dir_.path() / "journal";
  const std::string input = fmt::format("{}\n{}\n", server_.url("/fixed?key=ok"),
                                        server_.url("/flaky?key=later&fail=1&status=404"));
  const auto first = run_batch(input, {"--journal", journal.string(), "--max-attempts", "1"});
  EXPECT_EQ(first.exit_code, 7) << first.err;
  const auto second = run_batch(input, {"--journal", journal.string(), "--max-attempts", "1"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(server_.count("ok"), 1);
  EXPECT_EQ(server_.count("later"), 2);
  const auto lines = lines_of(second.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines.begin()->first, 2);
  const auto s = summary_of(second);
  EXPECT_EQ(s["skipped"].number(), 1);
  EXPECT_EQ(s["succeeded"].number(), 1);
  EXPECT_EQ(s["total"].number(), 2);
  const auto third = run_batch(input, {"--journal", journal.string()});
  EXPECT_EQ(third.exit_code, 0);
  EXPECT_TRUE(third.out.empty()) << third.out;
  EXPECT_EQ(summary_of(third)["skipped"].number(), 2);
}

TEST_F(BatchCliTest, SigkillMidRun_JournalCompleteAndReRunFetchesOnlyTheRest) {
  constexpr int kLines = 40;
  const fs::path journal = dir_.path() / "journal";
  std::string input;
  for (int i = 0; i < kLines; ++i) input += server_.url(fmt::format("/delay?ms=50&key=k{}", i)) + "\n";
  write_file(dir_.path() / "input.txt", input);
  std::vector<std::string> argv{kCli, "get", "-i", (dir_.path() / "input.txt").string(), "--output-dir",
                                out_dir().string(), "--journal", journal.string(), "-j", "4"};
  std::set<int> first_run;
  {
    ChildProcess child(argv);
    ASSERT_TRUE(child.read_until([](const std::string& out, const std::string&) {
      return std::count(out.begin(), out.end(), '\n') >= 10;
    }, 30s));
    child.send_signal(SIGKILL);
    const auto r = child.wait(10s);
    EXPECT_EQ(r.term_signal, SIGKILL);
    for (const auto& [n, line] : lines_of(r.out)) {
      if (line["outcome"].string() == "success") first_run.insert(n);
    }
  }
  ASSERT_GE(first_run.size(), 10u);
  ASSERT_LT(first_run.size(), static_cast<std::size_t>(kLines));
  // Every success printed is in the journal (it is written before... at least together with stdout).
  const std::string journal_text = read_file(journal);
  for (const int n : first_run) {
    EXPECT_NE(journal_text.find(fmt::format("{{\"line\":{},", n)), std::string::npos) << n;
  }
  const auto second = run_child(argv, 60s);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  const auto lines = lines_of(second.out);
  for (const auto& [n, line] : lines) EXPECT_EQ(first_run.count(n), 0u) << "line " << n << " fetched again";
  for (int i = 0; i < kLines; ++i) {
    const int n = i + 1;
    EXPECT_TRUE(first_run.count(n) + lines.count(n) >= 1) << n;
    if (first_run.count(n)) {
      EXPECT_EQ(server_.count(fmt::format("k{}", i)), 1) << n;
    }
  }
  // Each success is one complete file; the names from both runs do not collide.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out_dir())) {
    if (e.path().filename().string().front() == '.') continue;  // a SIGKILL can leave a temporary file
    EXPECT_EQ(fs::file_size(e.path()), 0u + read_file(e.path()).size());
    ++files;
  }
  // A kill between naming a file and journaling its line leaves that file, and the re-run, which
  // has no record of the line, fetches it again under the next name: one extra file per line
  // that was being completed (the main thread completes them one at a time; -j 4 bounds it).
  EXPECT_GE(files, static_cast<std::size_t>(kLines));
  EXPECT_LE(files, static_cast<std::size_t>(kLines) + 4);
}

TEST_F(BatchCliTest, Sigint_NoNewLine_InFlightCancelled_JournalComplete_Exit130) {
  const fs::path journal = dir_.path() / "journal";
  std::string input;
  for (int i = 0; i < 3; ++i) input += server_.url(fmt::format("/hang?key=hang{}", i)) + "\n";
  for (int i = 0; i < 20; ++i) input += server_.url("/fixed?key=never") + "\n";
  write_file(dir_.path() / "input.txt", input);
  ChildProcess child({kCli, "get", "-i", (dir_.path() / "input.txt").string(), "--output-dir", out_dir().string(),
                      "--journal", journal.string(), "-j", "3", "--json"});
  ASSERT_TRUE(wait_for([&] { return server_.count("hang0") + server_.count("hang1") + server_.count("hang2") == 3; }, 20s));
  child.send_signal(SIGINT);
  const auto r = child.wait(10s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_EQ(server_.count("never"), 0);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out << r.err;
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(lines.at(n)["outcome"].string(), "cancelled");
    EXPECT_EQ(lines.at(n)["reason"].string(), "cancelled");
    EXPECT_EQ(lines.at(n)["error"]["kind"].string(), "cancelled");
  }
  std::istringstream records(read_file(journal));
  std::string record;
  int count = 0;
  while (std::getline(records, record)) {
    EXPECT_NE(record.find("\"outcome\":\"cancelled\""), std::string::npos) << record;
    ++count;
  }
  EXPECT_EQ(count, 3);
  const auto s = summary_of(r);
  EXPECT_EQ(s["outcome"].string(), "cancelled");
  EXPECT_EQ(s["cancelled"].number(), 3);
  EXPECT_TRUE(fs::is_empty(out_dir()));
}

TEST_F(BatchCliTest, JobsBoundWhatIsInFlight) {
  std::string input;
  for (int i = 0; i < 6; ++i) input += server_.url("/delay?ms=300") + "\n";
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_batch(input, {"-j", "2"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(took, 900ms);  // three rounds of two
}

TEST_F(BatchCliTest, MaxPerHostBoundsAnOrigin) {
  // -j 16 would run all eight at once; two per origin makes four rounds of 300 ms.
  std::string input;
  for (int i = 0; i < 8; ++i) input += server_.url("/delay?ms=300") + "\n";
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_batch(input, {"-j", "16", "--max-per-host", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1200ms);
}

TEST_F(BatchCliTest, RateSpacesTheStarts) {
  std::string input;
  for (int i = 0; i < 5; ++i) input += server_.url("/fixed") + "\n";
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_batch(input, {"--rate", "10/s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);  // starts at 0, 100, ..., 400 ms
}

TEST_F(BatchCliTest, ThousandLinesAtSixtyFour_SameNameEveryTime) {
  constexpr int kLines = 1000;
  std::string input;
  for (int i = 0; i < kLines; ++i) input += server_.url("/bytes?n=1024") + "\n";
  for (const std::string transport : {"curl", "httplib"}) {
    fs::remove_all(out_dir());
    const auto r = run_batch(input, {"-j", "64", "--transport", transport}, 120s);
    EXPECT_EQ(r.exit_code, 0) << transport << "\n" << r.err.substr(0, 2000);
    const auto lines = lines_of(r.out);
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(kLines));
    std::set<std::string> outputs;
    for (const auto& [n, line] : lines) outputs.insert(line["output"].string());
    EXPECT_EQ(outputs.size(), static_cast<std::size_t>(kLines));
    EXPECT_EQ(outputs.count(out_path("bytes")), 1u);
    EXPECT_EQ(outputs.count(out_path(fmt::format("bytes.{}", kLines - 1))), 1u);
    EXPECT_EQ(tree(out_dir()).size(), static_cast<std::size_t>(kLines));
    EXPECT_EQ(summary_of(r)["succeeded"].number(), kLines);
  }
}

TEST_F(BatchCliTest, BadLinesEachFailOnTheirOwn) {
  const std::string input = std::string("{\"url\": 5}\n{\"url\":\"") + server_.url("/fixed") +
                            "\",\"extra\":1}\n{not json\n" + std::string(2 << 20, 'x') + "\n" + server_.url("/fixed") +
                            "\n\xff\xfe\n";
  const auto r = run_batch(input);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 6u);
  for (const int n : {1, 2, 3, 4, 6}) {
    EXPECT_EQ(lines.at(n)["error"]["kind"].string(), "invalid_request") << n;
    EXPECT_NE(lines.at(n)["error"]["message"].string().find(fmt::format("line {}:", n)), std::string::npos);
  }
  EXPECT_NE(lines.at(2)["error"]["message"].string().find("\"extra\""), std::string::npos);
  EXPECT_NE(lines.at(4)["error"]["message"].string().find("longer than"), std::string::npos);
  EXPECT_EQ(lines.at(5)["outcome"].string(), "success");
}

}  // namespace
}  // namespace fetchpipe::test
