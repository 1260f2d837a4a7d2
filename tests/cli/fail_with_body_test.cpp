// --fail-with-body: the body of a final non-2xx response is written (stdout, -o, batch files),
// the exit code stays 3; retried statuses and redirects are unchanged.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fetchpipe/tools/fault_server.hpp>

#include "child_process.hpp"
#include "mini_json.hpp"
#include "temp_dir.hpp"

namespace fetchpipe::test {
namespace {

using namespace std::chrono_literals;
const std::string kCli = FETCHPIPE_CLI_PATH;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

class FailWithBodyTest : public ::testing::Test {
 protected:
  tools::FaultServer server_;
  TempDir dir_;
};

TEST_F(FailWithBodyTest, BodyOnStdout_Exit3) {
  const auto without = run_child({kCli, "get", server_.url("/status?code=404")});
  EXPECT_EQ(without.exit_code, 3);
  EXPECT_TRUE(without.out.empty());
  const auto r = run_child({kCli, "get", "--fail-with-body", "--json", server_.url("/status?code=404")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "status 404\n");
  const auto report = parse_json(r.last_err_line());
  ASSERT_TRUE(report) << r.err;
  EXPECT_EQ((*report)["outcome"].string(), "failure");
  EXPECT_EQ((*report)["status"].number(), 404);
  EXPECT_EQ((*report)["error"]["kind"].string(), "http_status");
  EXPECT_EQ((*report)["bytes"].number(), 11);
}

TEST_F(FailWithBodyTest, BodyToTheOutputFile_Httplib) {
  const auto file = dir_.path() / "page";
  const auto r = run_child({kCli, "get", "--fail-with-body", "--transport", "httplib", "-o", file.string(),
                            server_.url("/status?code=410")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(slurp(file), "status 410\n");
}

TEST_F(FailWithBodyTest, RetriedStatusesAreStillRetried) {
  const auto r = run_child({kCli, "get", "--fail-with-body", "--backoff-initial", "1ms",
                            server_.url("/flaky?key=r&fail=2&status=503")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.count("r"), 3);
}

// The last answer of a retried status is written too (from the failure, not an accepted body);
// the answers before it are not.
TEST_F(FailWithBodyTest, RetriedStatusOutOfAttempts_TheLastBodyIsWritten) {
  const auto r = run_child({kCli, "get", "--fail-with-body", "--json", "--max-attempts", "3", "--backoff-initial",
                            "0ms", "--no-retry-budget", server_.url("/status?code=503&key=ex")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "status 503\n");
  const auto report = parse_json(r.last_err_line());
  ASSERT_TRUE(report) << r.err;
  EXPECT_EQ((*report)["reason"].string(), "attempts_exhausted");
  EXPECT_EQ((*report)["error"]["kind"].string(), "http_status");
  EXPECT_EQ((*report)["bytes"].number(), 11);
  EXPECT_EQ(server_.count("ex"), 3);
}

TEST_F(FailWithBodyTest, RetriedStatusOutOfAttempts_ALargeBodyToTheFile) {
  for (const std::string transport : {"curl", "httplib"}) {
    const auto file = dir_.path() / ("page-" + transport);
    const auto r = run_child({kCli, "get", "--fail-with-body", "--transport", transport, "--max-attempts", "2",
                              "--backoff-initial", "0ms", "-o", file.string(),
                              server_.url("/status?code=502&bytes=300000")});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const std::string body = slurp(file);
    ASSERT_EQ(body.size(), 300000u) << transport;
    EXPECT_EQ(body.substr(0, 5), "abcde");
  }
}

// A 200 cut mid-body, then a 503 to the resumed request: the file is the 503's body alone, not
// the 200's first bytes with the error page after them.
TEST_F(FailWithBodyTest, RetriedStatusAfterACutBody_OnlyTheLastBodyIsInTheFile) {
  for (const std::string transport : {"curl", "httplib"}) {
    const auto file = dir_.path() / ("after-cut-" + transport);
    const auto r = run_child({kCli, "get", "--fail-with-body", "--transport", transport, "--max-attempts", "2",
                              "--backoff-initial", "0ms", "-o", file.string(),
                              server_.url("/resumable?n=50000&cut=20000&fail_after=1&key=cut-" + transport)});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const std::string body = slurp(file);
    EXPECT_TRUE(body == "status 503\n") << transport << ": " << body.size() << " bytes";
  }
  const auto input = dir_.path() / "in";
  std::ofstream(input) << server_.url("/resumable?n=50000&cut=20000&fail_after=1&key=cut-batch") << "\n";
  const auto out = dir_.path() / "out";
  const auto r = run_child({kCli, "get", "-i", input.string(), "--output-dir", out.string(), "--fail-with-body",
                            "--max-attempts", "2", "--backoff-initial", "0ms"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  const std::string body = slurp(out / "resumable");
  EXPECT_TRUE(body == "status 503\n") << "batch: " << body.size() << " bytes";
}

TEST_F(FailWithBodyTest, BatchKeepsTheBodyOfARetriedStatus) {
  const auto input = dir_.path() / "in";
  std::ofstream(input) << server_.url("/status?code=503") << "\n";
  const auto out = dir_.path() / "out";
  const auto r = run_child({kCli, "get", "-i", input.string(), "--output-dir", out.string(), "--fail-with-body",
                            "--max-attempts", "2", "--backoff-initial", "0ms"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  const auto line = parse_json(r.out);
  ASSERT_TRUE(line) << r.out;
  EXPECT_EQ((*line)["reason"].string(), "attempts_exhausted");
  EXPECT_EQ((*line)["output"].string(), (out / "status").string());
  EXPECT_EQ(slurp(out / "status"), "status 503\n");
}

TEST_F(FailWithBodyTest, BatchKeepsTheFileAndFailsTheLine) {
  const auto input = dir_.path() / "in";
  std::ofstream(input) << server_.url("/status?code=403") << "\n";
  const auto out = dir_.path() / "out";
  const auto r = run_child({kCli, "get", "-i", input.string(), "--output-dir", out.string(), "--fail-with-body"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  const auto line = parse_json(r.out);
  ASSERT_TRUE(line) << r.out;
  EXPECT_EQ((*line)["outcome"].string(), "failure");
  EXPECT_EQ((*line)["error"]["kind"].string(), "http_status");
  EXPECT_EQ((*line)["output"].string(), (out / "status").string());
  EXPECT_EQ(slurp(out / "status"), "status 403\n");
}

}  // namespace
}  // namespace fetchpipe::test
