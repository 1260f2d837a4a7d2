// `get` resumes a cut download: on retry to -o and to stdout, across runs with -C (FILE.part and
// FILE.part.json), never with --no-resume; resumed_from in --json. The bytes written are the
// resource's, checked by SHA-256 over hundreds of random cut points on both transports; an entity
// that changes starts the file over (stdout: committed); a lying 206 never reaches the output.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fetchpipe/tools/fault_server.hpp>

#include "child_process.hpp"
#include "cli_support.hpp"
#include "mini_json.hpp"
#include "temp_dir.hpp"

namespace fetchpipe::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
const std::string kCli = FETCHPIPE_CLI_PATH;

std::string sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// The fault server's resource: byte i is 'a' + (i + shift) % 26 (shift 7: the changed entity).
std::string resource(std::size_t n, std::size_t shift = 0) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i + shift) % 26);
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

// `count` distinct sorted offsets in [1, n).
std::string random_cuts(std::mt19937& rng, std::size_t n, std::size_t count) {
  std::set<std::size_t> cuts;
  while (cuts.size() < count) cuts.insert(1 + rng() % (n - 1));
  std::string list;
  for (const auto c : cuts) list += (list.empty() ? "" : ",") + std::to_string(c);
  return list;
}

// Quick retries, as many as the cuts need, and no budget: the budget is not what is tested.
std::vector<std::string> get_args(const std::string& url, const std::string& transport, int attempts) {
  return {kCli, "get", url, "--transport", transport, "--max-attempts", std::to_string(attempts),
          "--backoff-initial", "0ms", "--no-retry-budget", "--json"};
}

class ResumeCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string& transport() const { return GetParam(); }
  tools::FaultServer server_;
  TempDir dir_;
};

// ---- resume on retry, byte-exact over random cuts --------------------------------------------

TEST_P(ResumeCliTest, EveryRandomCutGivesTheExactBytes_ToAFile) {
  constexpr std::size_t kSize = 150000;
  constexpr int kRuns = 10;
  constexpr std::size_t kCutsPerRun = 8;
  const std::string want = sha256(resource(kSize));
  std::mt19937 rng(20261202);
  for (int i = 0; i < kRuns; ++i) {
    const auto cuts = random_cuts(rng, kSize, kCutsPerRun);
    const auto file = dir_.path() / fmt::format("out{}", i);
    auto argv = get_args(server_.url(fmt::format("/resumable?n={}&cuts={}", kSize, cuts)), transport(),
                         kCutsPerRun + 1);
    argv.insert(argv.end(), {"-o", file.string()});
    const auto r = run_child(argv, 60s);
    ASSERT_EQ(r.exit_code, 0) << "cuts " << cuts << "\n" << r.err;
    ASSERT_EQ(sha256(slurp(file)), want) << "cuts " << cuts;
    const auto attempts = report_of(r)["attempts"];
    ASSERT_EQ(attempts.array().size(), kCutsPerRun + 1) << r.err;
    EXPECT_TRUE(attempts[0]["resumed_from"].is_null());
    EXPECT_EQ(report_of(r)["bytes"].number(), static_cast<double>(kSize));
  }
  EXPECT_EQ(dir_.entries().size(), static_cast<std::size_t>(kRuns)) << "no temporary file is left";
}

TEST_P(ResumeCliTest, EveryRandomCutGivesTheExactBytes_ToStdout) {
  constexpr std::size_t kSize = 150000;
  constexpr int kRuns = 10;
  constexpr std::size_t kCutsPerRun = 8;
  const std::string want = sha256(resource(kSize));
  std::mt19937 rng(20261203);
  for (int i = 0; i < kRuns; ++i) {
    const auto cuts = random_cuts(rng, kSize, kCutsPerRun);
    const auto r = run_child(get_args(server_.url(fmt::format("/resumable?n={}&cuts={}", kSize, cuts)), transport(),
                                      kCutsPerRun + 1),
                             60s);
    ASSERT_EQ(r.exit_code, 0) << "cuts " << cuts << "\n" << r.err;
    ASSERT_EQ(sha256(r.out), want) << "cuts " << cuts << ": " << r.out.size() << " bytes";
    // Each retry asked for the byte after the last one written: the cut points, in order.
    const auto attempts = report_of(r)["attempts"];
    ASSERT_EQ(attempts.array().size(), kCutsPerRun + 1);
    std::string asked;
    for (std::size_t a = 1; a < attempts.array().size(); ++a) {
      asked += (asked.empty() ? "" : ",") + fmt::format("{}", attempts[a]["resumed_from"].number());
    }
    EXPECT_EQ(asked, cuts);
  }
}

// With --compressed the library must not ask for a decoded offset of an encoded body: no Range.
TEST_P(ResumeCliTest, Compressed_NeverResumes) {
  const std::string key = "compressed-" + transport();
  const auto r = run_child(
      get_args(server_.url("/resumable?n=50000&cut=20000&key=" + key), transport(), 2));
  EXPECT_EQ(r.exit_code, 0) << r.err;  // resumed: the control
  auto argv = get_args(server_.url("/resumable?n=50000&cut=20000&key=" + key + "c"), transport(), 2);
  argv.push_back("--compressed");
  const auto c = run_child(argv);
  EXPECT_EQ(c.exit_code, 4) << c.err;  // stdout, cut, not resumable: committed
  EXPECT_EQ(report_of(c)["reason"].string(), "committed");
  EXPECT_TRUE(report_of(c)["attempts"][0]["resumed_from"].is_null());
}

TEST_P(ResumeCliTest, NoResume_EveryRetryStartsOver) {
  const std::string key = "noresume-" + transport();
  const auto file = dir_.path() / "out";
  auto argv = get_args(server_.url("/resumable?n=50000&cut=20000&key=" + key), transport(), 3);
  argv.insert(argv.end(), {"--no-resume", "-o", file.string()});
  const auto r = run_child(argv);
  EXPECT_EQ(r.exit_code, 4) << r.err;  // every answer without Range is cut
  const auto report = report_of(r);
  EXPECT_EQ(report["reason"].string(), "attempts_exhausted");
  for (std::size_t a = 0; a < report["attempts"].array().size(); ++a) EXPECT_TRUE(report["attempts"][a]["resumed_from"].is_null());
  EXPECT_TRUE(dir_.entries().empty());
  EXPECT_EQ(server_.count(key), 3);
}

// ---- the entity changes between attempts -----------------------------------------------------

TEST_P(ResumeCliTest, EntityChange_TheFileStartsOverWithTheNewEntity) {
  constexpr std::size_t kSize = 60000;
  const std::string key = "change-file-" + transport();
  const auto file = dir_.path() / "out";
  auto argv = get_args(server_.url(fmt::format("/resumable?n={}&cuts=25000&change_after=1&key={}", kSize, key)),
                       transport(), 4);
  argv.insert(argv.end(), {"-o", file.string()});
  const auto r = run_child(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sha256(slurp(file)), sha256(resource(kSize, 7))) << "the new entity, whole, and nothing of the old";
  // Cut (v1); Range answered by a 200 of v2, cut again; Range continues v2.
  const auto attempts = report_of(r)["attempts"];
  ASSERT_EQ(attempts.array().size(), 3u);
  EXPECT_EQ(attempts[1]["resumed_from"].number(), 25000);
  EXPECT_EQ(attempts[2]["resumed_from"].number(), 25000);
}

TEST_P(ResumeCliTest, EntityChange_OnStdoutIsCommitted) {
  constexpr std::size_t kSize = 60000;
  const std::string key = "change-stdout-" + transport();
  const auto r = run_child(
      get_args(server_.url(fmt::format("/resumable?n={}&cuts=25000&change_after=1&key={}", kSize, key)), transport(), 4));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(report_of(r)["reason"].string(), "committed");
  EXPECT_TRUE(r.out == resource(kSize).substr(0, 25000)) << "only the old entity's bytes, " << r.out.size();
}

// ---- a lying server --------------------------------------------------------------------------

TEST_P(ResumeCliTest, LyingRange_NeverCorruptsTheFile) {
  constexpr std::size_t kSize = 60000;
  for (const int lie : {-1, 1, 4096}) {
    const std::string key = fmt::format("lie-file{}-{}", lie, transport());
    const auto file = dir_.path() / "out";
    // The first two 206s lie: the one that answers the cut, and the next.
    auto argv = get_args(server_.url(fmt::format("/resumable?n={}&cuts=20000,40000&lie={}&lie_until=3&key={}", kSize,
                                                 lie, key)),
                         transport(), 8);
    argv.insert(argv.end(), {"-o", file.string()});
    const auto r = run_child(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sha256(slurp(file)), sha256(resource(kSize))) << "lie " << lie;
    fs::remove(file);
  }
}

TEST_P(ResumeCliTest, LyingRange_OnStdoutStopsAtTheTruePrefix) {
  constexpr std::size_t kSize = 60000;
  const auto r = run_child(
      get_args(server_.url(fmt::format("/resumable?n={}&cuts=20000&lie=3", kSize)), transport(), 4));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(report_of(r)["reason"].string(), "committed");
  EXPECT_TRUE(r.out == resource(kSize).substr(0, 20000)) << r.out.size() << " bytes";
}

// ---- -C across runs --------------------------------------------------------------------------

struct PartPaths {
  fs::path file, part, sidecar;
};
PartPaths part_paths(const fs::path& file) { return {file, fs::path(file.string() + ".part"), fs::path(file.string() + ".part.json")}; }

// One -C run that may make only one attempt: each run gets one cut further.
ChildResult continue_run(const std::string& url, const fs::path& file, const std::string& transport, int attempts = 1) {
  auto argv = get_args(url, transport, attempts);
  argv.insert(argv.end(), {"-C", "-o", file.string()});
  return run_child(argv);
}

TEST_P(ResumeCliTest, Continue_RunAfterRunOverRandomCuts) {
  constexpr std::size_t kSize = 120000;
  constexpr std::size_t kCuts = 6;
  std::mt19937 rng(20261204);
  for (int round = 0; round < 4; ++round) {
    const auto cuts = random_cuts(rng, kSize, kCuts);
    const std::string url = server_.url(fmt::format("/resumable?n={}&cuts={}", kSize, cuts));
    const auto p = part_paths(dir_.path() / fmt::format("big{}.bin", round));
    std::size_t runs = 0;
    ChildResult last;
    do {
      last = continue_run(url, p.file, transport());
      ++runs;
      if (last.exit_code != 0) {
        ASSERT_EQ(last.exit_code, 4) << last.err;
        ASSERT_TRUE(fs::exists(p.part)) << "an interrupted -C download is kept";
        ASSERT_TRUE(fs::exists(p.sidecar));
        ASSERT_FALSE(fs::exists(p.file));
        const auto sidecar = parse_json(slurp(p.sidecar));
        ASSERT_TRUE(sidecar) << slurp(p.sidecar);
        EXPECT_EQ((*sidecar)["url"].string(), url);
        EXPECT_EQ((*sidecar)["validator"].string(), "\"v1\"");
      }
    } while (last.exit_code != 0 && runs <= kCuts + 1);
    ASSERT_EQ(last.exit_code, 0) << last.err;
    EXPECT_EQ(runs, kCuts + 1);
    EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(kSize))) << "cuts " << cuts;
    EXPECT_FALSE(fs::exists(p.part));
    EXPECT_FALSE(fs::exists(p.sidecar));
    // The last run asked for the last cut point.
    const auto last_cut = cuts.substr(cuts.rfind(',') + 1);
    EXPECT_EQ(fmt::format("{}", report_of(last)["attempts"][0]["resumed_from"].number()), last_cut);
    // What the server answered: a 206 (the tool hands it to the library as a 200 of the rest).
    EXPECT_EQ(report_of(last)["status"].number(), 206);
    EXPECT_EQ(report_of(last)["attempts"][0]["status"].number(), 206);
  }
}

TEST_P(ResumeCliTest, Continue_WithRetriesInsideTheRun) {
  constexpr std::size_t kSize = 100000;
  const std::string url = server_.url(fmt::format("/resumable?n={}&cuts=10000,30000,50000,70000,90000", kSize));
  const auto p = part_paths(dir_.path() / "f");
  ASSERT_EQ(continue_run(url, p.file, transport()).exit_code, 4);  // 10000 bytes kept
  const auto r = continue_run(url, p.file, transport(), 8);        // from 10000, cut 4 more times
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(kSize)));
  const auto attempts = report_of(r)["attempts"];
  ASSERT_EQ(attempts.array().size(), 5u) << r.err;
  for (std::size_t a = 0; a < attempts.array().size(); ++a) {
    EXPECT_EQ(attempts[a]["resumed_from"].number(), 10000.0 + 20000.0 * static_cast<double>(a)) << a;
  }
}

TEST_P(ResumeCliTest, Continue_EntityChangedBetweenRuns_StartsOver) {
  constexpr std::size_t kSize = 60000;
  const std::string url =
      server_.url(fmt::format("/resumable?n={}&cuts=25000&change_after=1&key=cchange-{}", kSize, transport()));
  const auto p = part_paths(dir_.path() / "f");
  ASSERT_EQ(continue_run(url, p.file, transport()).exit_code, 4);
  const auto r = continue_run(url, p.file, transport(), 4);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(kSize, 7)));
  EXPECT_FALSE(fs::exists(p.sidecar));
}

TEST_P(ResumeCliTest, Continue_LyingServer_StartsOverAndNeverCorrupts) {
  constexpr std::size_t kSize = 60000;
  const std::string url =
      server_.url(fmt::format("/resumable?n={}&cuts=25000&lie=7&lie_until=2&key=clie-{}", kSize, transport()));
  const auto p = part_paths(dir_.path() / "f");
  ASSERT_EQ(continue_run(url, p.file, transport()).exit_code, 4);
  const auto r = continue_run(url, p.file, transport(), 4);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(kSize)));
  const auto attempts = report_of(r)["attempts"];
  ASSERT_EQ(attempts.array().size(), 3u) << r.err;
  EXPECT_EQ(attempts[0]["error"].string(), "connection_reset");  // the lie, refused
  EXPECT_TRUE(attempts[1]["resumed_from"].is_null());            // started over
  EXPECT_EQ(attempts[2]["resumed_from"].number(), 25000);
}

TEST_P(ResumeCliTest, Continue_SidecarForAnotherUrlOrGarbage_StartsOver) {
  constexpr std::size_t kSize = 30000;
  const std::string url = server_.url(fmt::format("/resumable?n={}&cut={}", kSize, kSize));
  for (const std::string sidecar : {R"({"url":"http://127.0.0.1:1/other","validator":"\"v1\""})", "not json",
                                    R"({"url":5})"}) {
    const auto p = part_paths(dir_.path() / "f");
    std::ofstream(p.part) << std::string(1000, 'X');
    std::ofstream(p.sidecar) << sidecar;
    const auto r = continue_run(url, p.file, transport());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(report_of(r)["attempts"][0]["resumed_from"].is_null()) << sidecar;
    EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(kSize))) << sidecar;
    EXPECT_FALSE(fs::exists(p.part));
    EXPECT_FALSE(fs::exists(p.sidecar));
    fs::remove(p.file);
  }
}

// A server that ignores Range (a 200 of everything): FILE.part starts over, nothing is appended.
TEST_P(ResumeCliTest, Continue_ServerIgnoresRange_StartsOver) {
  const std::string url = server_.url("/bytes?n=30000");
  const auto p = part_paths(dir_.path() / "f");
  std::ofstream(p.part) << std::string(1000, 'X');
  std::ofstream(p.sidecar) << R"({"url":")" << url << R"(","validator":"\"v1\""})";
  const auto r = continue_run(url, p.file, transport());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(report_of(r)["attempts"][0]["resumed_from"].number(), 1000);
  EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(30000)));
  EXPECT_FALSE(fs::exists(p.sidecar));
}

// SIGKILL in the middle of a -C download: FILE.part and its sidecar agree, and the next run
// continues from the size of FILE.part to the exact bytes.
TEST_P(ResumeCliTest, Continue_SigkillMidway_TheNextRunContinues) {
  constexpr std::size_t kSize = 200000;
  const std::string url = server_.url(fmt::format("/resumable?n={}&drip_ms=5&chunk=2000", kSize));
  const auto p = part_paths(dir_.path() / "f");
  {
    auto argv = get_args(url, transport(), 1);
    argv.insert(argv.end(), {"-C", "-o", p.file.string()});
    ChildProcess child(argv);
    ASSERT_TRUE(wait_for([&] {
      std::error_code ec;
      return fs::file_size(p.part, ec) >= 20000 && !ec;
    }, 30s));
    child.send_signal(SIGKILL);
    EXPECT_EQ(child.wait(10s).term_signal, SIGKILL);
  }
  const auto kept = fs::file_size(p.part);
  ASSERT_GT(kept, 0u);
  ASSERT_LT(kept, kSize);
  EXPECT_TRUE(slurp(p.part) == resource(kSize).substr(0, kept));
  const auto sidecar = parse_json(slurp(p.sidecar));
  ASSERT_TRUE(sidecar) << slurp(p.sidecar);
  EXPECT_EQ((*sidecar)["url"].string(), url);
  const auto r = continue_run(url, p.file, transport());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(report_of(r)["attempts"][0]["resumed_from"].number(), static_cast<double>(kept));
  EXPECT_EQ(sha256(slurp(p.file)), sha256(resource(kSize)));
}

TEST_P(ResumeCliTest, WithoutContinue_NothingButACompleteFileIsLeft) {
  const auto file = dir_.path() / "f";
  auto argv = get_args(server_.url("/resumable?n=30000&cut=1000"), transport(), 1);
  argv.insert(argv.end(), {"-o", file.string()});
  EXPECT_EQ(run_child(argv).exit_code, 4);
  EXPECT_TRUE(dir_.entries().empty());
}

INSTANTIATE_TEST_SUITE_P(Transports, ResumeCliTest, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

// ---- usage -----------------------------------------------------------------------------------

TEST(ResumeCliUsage, ContinueNeedsAFileAndAGet) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {kCli, "get", "http://127.0.0.1:1/", "-C"},
           {kCli, "get", "http://127.0.0.1:1/", "-C", "-o", "x", "--no-resume"},
           {kCli, "get", "http://127.0.0.1:1/", "-C", "-o", "x", "-d", "body"},
           {kCli, "get", "http://127.0.0.1:1/", "-C", "-o", "x", "--fail-with-body"},
           {kCli, "get", "http://127.0.0.1:1/", "-C", "-o", "x", "--compressed"},
       }) {
    const auto r = run_child(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("-C"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace fetchpipe::test
