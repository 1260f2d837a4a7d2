// The `fetchpipe` binary, run as a child process against an in-process fault server: exit codes,
// invalid input, -o atomicity, signals, retries as --json reports them, bounded memory.
#include <gtest/gtest.h>

#include "loopback.hpp"
#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
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

std::vector<std::string> cli(std::initializer_list<std::string> args) {
  std::vector<std::string> argv{kCli};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

class CliTest : public ::testing::Test {
 protected:
  tools::FaultServer server_;
};

// ---- help, version ---------------------------------------------------------------------------

TEST_F(CliTest, Version_PrintsVersionAndExitsZero) {
  const auto r = run_child(cli({"--version"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("fetchpipe ", 0), 0u) << r.out;
}

TEST_F(CliTest, Help_EveryCommandHasHelpAndExitsZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {kCli, "--help"}, {kCli, "get", "--help"}, {kCli, "serve", "--help"}, {kCli, "bench", "--help"},
           {kCli, "demo", "--help"}}) {
    const auto r = run_child(args);
    EXPECT_EQ(r.exit_code, 0) << args.back();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  EXPECT_NE(run_child(cli({"serve", "--help"})).out.find("/flaky"), std::string::npos);
}

TEST_F(CliTest, NoCommand_IsUsageError) { EXPECT_EQ(run_child(cli({})).exit_code, 2); }

// ---- exit codes ------------------------------------------------------------------------------

TEST_F(CliTest, Success_BodyOnStdoutExitZero) {
  const auto r = run_child(cli({"get", server_.url("/fixed")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from fetchpipe\n");
}

TEST_F(CliTest, HttpTransport_HttplibWorksToo) {
  const auto r = run_child(cli({"get", server_.url("/fixed"), "--transport", "httplib", "--json"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from fetchpipe\n");
  EXPECT_EQ(report_of(r)["transport"].string(), "httplib");
}

TEST_F(CliTest, NotFound_Exit3WithoutBody) {
  const auto r = run_child(cli({"get", server_.url("/status?code=404"), "--json"}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");  // a non-2xx body is never written
  const auto j = report_of(r);
  EXPECT_EQ(j["status"].number(), 404);
  EXPECT_EQ(j["error"]["kind"].string(), "http_status");
  EXPECT_EQ(j["reason"].string(), "not_retryable");
}

TEST_F(CliTest, ConnectFailure_Exit4) {
  const auto url = fmt::format("http://127.0.0.1:{}/", testing::closed_port());
  const auto r = run_child(cli({"get", url, "--max-attempts", "2", "--backoff-initial", "10ms", "--json"}));
  EXPECT_EQ(r.exit_code, 4);
  const auto j = report_of(r);
  EXPECT_EQ(j["error"]["kind"].string(), "connect_failure");
  EXPECT_EQ(j["reason"].string(), "attempts_exhausted");
  EXPECT_EQ(j["attempts"].array().size(), 2u);
}

TEST_F(CliTest, DnsFailure_Exit4) {
  // A plain `x.invalid` still makes glibc ask the configured name server, which need not be on
  // loopback. A label longer than DNS allows (63 bytes) fails inside the local resolver before any
  // query is built, so no packet leaves the machine (checked with strace).
  const std::string host = std::string(64, 'a') + ".invalid";
  const auto r = run_child(cli({"get", "http://" + host + "/", "--max-attempts", "1", "--json"}));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(report_of(r)["error"]["kind"].string(), "dns_failure");
}

TEST_F(CliTest, Reset_Exit4) {
  const auto r = run_child(cli({"get", server_.url("/reset"), "--max-attempts", "1", "--json"}));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(report_of(r)["error"]["kind"].string(), "connection_reset");
}

TEST_F(CliTest, AttemptTimeout_Exit5) {
  const auto r = run_child(cli({"get", server_.url("/hang"), "--attempt-timeout", "300ms", "--max-attempts", "1", "--json"}));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(report_of(r)["error"]["kind"].string(), "attempt_timeout");
}

TEST_F(CliTest, OverallTimeout_Exit5DeadlineExceeded) {
  const auto r = run_child(cli({"get", server_.url("/hang"), "--timeout", "300ms", "--json"}));
  EXPECT_EQ(r.exit_code, 5);
  const auto j = report_of(r);
  EXPECT_EQ(j["error"]["kind"].string(), "deadline_exceeded");
  EXPECT_EQ(j["reason"].string(), "deadline");
}

TEST_F(CliTest, StallTimeout_Exit5) {
  const auto r = run_child(cli({"get", server_.url("/drip?n=100&interval_ms=1000"), "--stall-timeout", "200ms",
                                "--max-attempts", "1", "--json"}));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(report_of(r)["error"]["kind"].string(), "stall_timeout");
}

TEST_F(CliTest, Output_DevNullIsWrittenInPlace) {
  // A device is not replaced by a renamed temporary file (curl users write -o /dev/null).
  const auto r = run_child(cli({"get", server_.url("/fixed"), "-o", "/dev/null"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::is_regular_file("/dev/null"));
}

TEST_F(CliTest, BodyTooLarge_Exit6_ExactLimitAllowed) {
  const auto over = run_child(cli({"get", server_.url("/bytes?n=1025"), "--max-body-size", "1k", "--json"}));
  EXPECT_EQ(over.exit_code, 6);
  EXPECT_EQ(report_of(over)["error"]["kind"].string(), "body_too_large");
  const auto exact = run_child(cli({"get", server_.url("/bytes?n=1024"), "--max-body-size", "1k"}));
  EXPECT_EQ(exact.exit_code, 0) << exact.err;
  EXPECT_EQ(exact.out.size(), 1024u);
}

TEST_F(CliTest, MaxRedirectsZero_On302_Exit3Status302) {
  const auto r = run_child(cli({"get", server_.url("/redirect?n=1&code=302"), "--max-redirects", "0", "--json"}));
  EXPECT_EQ(r.exit_code, 3);
  const auto j = report_of(r);
  EXPECT_EQ(j["status"].number(), 302);
  EXPECT_EQ(j["error"]["kind"].string(), "http_status");
}

TEST_F(CliTest, RedirectLoop_Exit3TooManyRedirects) {
  const auto r = run_child(cli({"get", server_.url("/redirect-loop"), "--max-redirects", "3", "--json"}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(report_of(r)["error"]["kind"].string(), "too_many_redirects");
}

TEST_F(CliTest, RedirectChain_Followed) {
  const auto r = run_child(cli({"get", server_.url("/redirect?n=2")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from fetchpipe\n");
}

// ---- invalid input ---------------------------------------------------------------------------

struct InvalidCase {
  std::vector<std::string> args;  // after "get URL"
  std::vector<std::string> mentions;  // each must appear in the one stderr line
  bool replace_url = false;           // args[0] replaces the URL
};

TEST_F(CliTest, InvalidInput_Exit2OneLineNamingFlagAndValue_NothingSent) {
  const std::vector<InvalidCase> cases{
      {{"http://"}, {"URL", "http://"}, true},
      {{"ftp://127.0.0.1/x"}, {"URL", "ftp"}, true},
      {{"not a url"}, {"URL", "not a url"}, true},
      {{"--timeout", "5"}, {"--timeout", "'5'"}},
      {{"--timeout", "fast"}, {"--timeout", "'fast'"}},
      {{"--timeout", "0ms"}, {"--timeout", "'0ms'"}},
      {{"--attempt-timeout", "0s"}, {"--attempt-timeout", "'0s'"}},
      {{"--connect-timeout", "0ms"}, {"--connect-timeout", "'0ms'"}},
      {{"--stall-timeout", "0m"}, {"--stall-timeout", "'0m'"}},
      {{"--backoff-max", "0ms"}, {"--backoff-max"}},
      {{"--max-attempts", "0"}, {"--max-attempts", "'0'"}},
      {{"--max-attempts", "two"}, {"--max-attempts", "'two'"}},
      {{"--backoff-multiplier", "0.5"}, {"--backoff-multiplier", "'0.5'", ">= 1"}},
      {{"--bogus"}, {"--bogus"}},
      {{"--transport", "carrier-pigeon"}, {"--transport", "'carrier-pigeon'"}},
      {{"-H", "NoColonHere"}, {"-H", "NoColonHere"}},
      {{"-H", "X-A: b\r\nX-B: c"}, {"-H", "X-A"}},
      {{"-H", "X-A\n: b"}, {"-H"}},
      {{"--timeout"}, {"--timeout", "missing"}},
      {{"--max-redirects", "-1"}, {"--max-redirects", "'-1'"}},
      {{"--max-body-size", "12X"}, {"--max-body-size", "'12X'"}},
      {{"--jitter", "wobbly"}, {"--jitter", "'wobbly'"}},
      {{"--retry-on", "5xx,teapot"}, {"--retry-on", "teapot"}},
      {{"-d", "@/nonexistent/fetchpipe-body"}, {"-d", "/nonexistent/fetchpipe-body"}},
      {{"--cacert", "/nonexistent/ca.pem"}, {"--cacert", "/nonexistent/ca.pem"}},
      {{"-X", "GE T"}, {"-X", "GE T"}},
      {{"--backoff-initial", "2s", "--backoff-max", "1s"}, {"--backoff-max"}},
      {{"-o", "/nonexistent-dir/out.bin"}, {"-o", "/nonexistent-dir"}},
      {{"extra-positional"}, {"extra-positional"}},
  };
  for (const auto& c : cases) {
    for (const bool json : {false, true}) {
      server_.reset_counts();
      std::vector<std::string> argv{kCli, "get"};
      if (!c.replace_url) argv.push_back(server_.url("/fixed?key=invalid"));
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      if (json) argv.emplace_back("--json");
      const auto r = run_child(argv);
      const std::string label = fmt::format("{} (json={})", fmt::join(c.args, " "), json);
      EXPECT_EQ(r.exit_code, 2) << label << "\n" << r.err;
      const auto lines = r.err_lines();
      ASSERT_EQ(lines.size(), json ? 2u : 1u) << label << "\n" << r.err;
      EXPECT_EQ(lines[0].rfind("fetchpipe: ", 0), 0u) << lines[0];
      for (const auto& m : c.mentions) EXPECT_NE(lines[0].find(m), std::string::npos) << label << ": " << lines[0];
      EXPECT_EQ(server_.total_count(), 0) << label << ": a request was sent";
      if (json) {
        const auto j = report_of(r);
        EXPECT_EQ(j["outcome"].string(), "failure");
        EXPECT_EQ(j["error"]["kind"].string(), "invalid_request");
        EXPECT_TRUE(j["attempts"].array().empty());
      }
    }
  }
}

// ---- --json shape ----------------------------------------------------------------------------

TEST_F(CliTest, Json_HasEveryKeyWithTheRightTypes) {
  const auto r = run_child(cli({"get", server_.url("/flaky?key=shape&fail=1"), "--backoff-initial", "10ms", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = report_of(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.object().size(), 9u);
  EXPECT_EQ(j["outcome"].string(), "success");
  EXPECT_EQ(j["http_version"].string(), "1.1");
  EXPECT_EQ(j["status"].number(), 200);
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_TRUE(j["reason"].is_null());
  EXPECT_TRUE(j["elapsed_ms"].is_number());
  EXPECT_EQ(j["bytes"].number(), static_cast<double>(std::string("ok after 1 failures\n").size()));
  EXPECT_EQ(j["transport"].string(), "curl");
  const auto& attempts = j["attempts"].array();
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    for (const char* key : {"attempt", "status", "error", "elapsed_ms", "backoff_ms"}) EXPECT_TRUE(a.has(key)) << key;
  }
  EXPECT_EQ(attempts[0]["attempt"].number(), 1);
  EXPECT_EQ(attempts[0]["status"].number(), 503);
  EXPECT_TRUE(attempts[0]["error"].is_null());
  EXPECT_TRUE(attempts[0]["backoff_ms"].is_number());
  EXPECT_TRUE(attempts[1]["backoff_ms"].is_null());
}

TEST_F(CliTest, Verbose_OneLinePerAttempt) {
  const auto r = run_child(cli({"get", server_.url("/flaky?key=verbose&fail=2"), "--backoff-initial", "10ms", "-v"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int attempt_lines = 0;
  for (const auto& line : r.err_lines()) attempt_lines += line.find("attempt ") != std::string::npos ? 1 : 0;
  EXPECT_EQ(attempt_lines, 3) << r.err;
  EXPECT_NE(r.err.find("retrying in"), std::string::npos) << r.err;
}

// ---- retries ---------------------------------------------------------------------------------

TEST_F(CliTest, Retries_VisibleInJsonWithBackoff) {
  const auto r = run_child(cli({"get", server_.url("/flaky?key=retries&fail=2&status=503"), "--backoff-initial", "50ms",
                                "--jitter", "none", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.count("retries"), 3);
  const auto report = report_of(r);
  const auto& attempts = report["attempts"].array();
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0]["backoff_ms"].number(), 50);
  EXPECT_EQ(attempts[1]["backoff_ms"].number(), 100);
  EXPECT_TRUE(attempts[2]["backoff_ms"].is_null());
}

TEST_F(CliTest, RetryAfter_Honoured) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_child(cli({"get", server_.url("/flaky?key=ra&fail=1&status=503&retry_after=1"), "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(r.ended - start, 900ms);
  const auto report = report_of(r);
  const auto& attempts = report["attempts"].array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0]["backoff_ms"].number(), 1000);
}

TEST_F(CliTest, RetryAfter_CappedByRetryAfterMax) {
  const auto r = run_child(cli({"get", server_.url("/flaky?key=racap&fail=1&status=503&retry_after=30"),
                                "--retry-after-max", "100ms", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(report_of(r)["attempts"][0]["backoff_ms"].number(), 100);
}

TEST_F(CliTest, RetryAfter_PastTimeout_EndsAtOnceWithDeadline) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_child(cli({"get", server_.url("/status?code=503&retry_after=5"), "--timeout", "2s", "--json"}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_LT(r.ended - start, 1500ms);  // did not sleep into the deadline
  const auto j = report_of(r);
  EXPECT_EQ(j["reason"].string(), "deadline");
  EXPECT_EQ(j["status"].number(), 503);
}

TEST_F(CliTest, Post_RetriedAfterConnectFailure) {
  const auto url = fmt::format("http://127.0.0.1:{}/", testing::closed_port());
  const auto r = run_child(cli({"get", url, "-d", "x=1", "--max-attempts", "3", "--backoff-initial", "10ms", "--json"}));
  EXPECT_EQ(r.exit_code, 4);
  const auto j = report_of(r);
  EXPECT_EQ(j["reason"].string(), "attempts_exhausted");
  EXPECT_EQ(j["attempts"].array().size(), 3u);
}

TEST_F(CliTest, Post_NotRetriedAfterReset) {
  const auto r = run_child(
      cli({"get", server_.url("/flaky?key=postreset&fail=1&fault=reset"), "-d", "x=1", "--backoff-initial", "10ms", "--json"}));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(server_.count("postreset"), 1);
  EXPECT_EQ(report_of(r)["reason"].string(), "non_idempotent");
}

TEST_F(CliTest, Post_DataSendsPostAndFileBody) {
  TempDir dir;
  {
    std::ofstream(dir.path() / "body.txt") << "from a file";
  }
  const auto r = run_child(cli({"get", server_.url("/echo"), "-d", "@" + (dir.path() / "body.txt").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("method POST"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from a file"), std::string::npos) << r.out;
}

TEST_F(CliTest, Truncate_OnStdout_CommittedNotRetried) {
  const auto r = run_child(
      cli({"get", server_.url("/flaky?key=commit&fail=1&fault=truncate"), "--backoff-initial", "10ms", "--json"}));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(server_.count("commit"), 1);
  const auto j = report_of(r);
  EXPECT_EQ(j["error"]["kind"].string(), "connection_reset");
  EXPECT_EQ(j["reason"].string(), "committed");
  EXPECT_GT(j["bytes"].number(), 0);
}

TEST_F(CliTest, Truncate_WithOutputFile_RetriedAndFileStartsOver) {
  TempDir dir;
  const auto file = dir.path() / "out.txt";
  const auto r = run_child(cli({"get", server_.url("/flaky?key=rewind&fail=1&fault=truncate"), "--backoff-initial",
                                "10ms", "-o", file.string(), "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.count("rewind"), 2);
  std::ifstream in(file);
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(content, "ok after 1 failures\n");
  EXPECT_EQ(dir.entries().size(), 1u);
}

// ---- -o atomicity ----------------------------------------------------------------------------

TEST_F(CliTest, Output_SuccessWritesCompleteFile) {
  TempDir dir;
  const auto file = dir.path() / "body.bin";
  const auto r = run_child(cli({"get", server_.url("/bytes?n=100000&chunked=1"), "-o", file.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(fs::file_size(file), 100000u);
  std::ifstream in(file, std::ios::binary);
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  for (std::size_t i = 0; i < content.size(); i += 997) ASSERT_EQ(content[i], static_cast<char>('a' + i % 26)) << i;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"body.bin"});
}

TEST_F(CliTest, Output_FailureLeavesNoFileAndNoTempFile) {
  TempDir dir;
  const auto r = run_child(cli({"get", server_.url("/status?code=500"), "--max-attempts", "2", "--backoff-initial",
                                "10ms", "-o", (dir.path() / "x.bin").string()}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(dir.entries().empty());
  const auto t = run_child(cli({"get", server_.url("/truncate?n=1000&sent=500"), "--max-attempts", "1", "-o",
                                (dir.path() / "y.bin").string()}));
  EXPECT_EQ(t.exit_code, 4);
  EXPECT_TRUE(dir.entries().empty());
}

TEST_F(CliTest, Output_CancelWhileHungLeavesNoFile) {
  TempDir dir;
  ChildProcess child(cli({"get", server_.url("/hang?key=ocancel"), "-o", (dir.path() / "z.bin").string(), "--json"}));
  ASSERT_TRUE(wait_for([&] { return server_.count("ocancel") == 1; }, 10s));
  child.send_signal(SIGINT);
  const auto r = child.wait(10s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_EQ(report_of(r)["outcome"].string(), "cancelled");
  EXPECT_TRUE(dir.entries().empty());
}

// ---- signals ---------------------------------------------------------------------------------

TEST_F(CliTest, Sigint_DuringHang_Exit130WithinASecond) {
  for (const char* transport : {"curl", "httplib"}) {
    server_.reset_counts();
    ChildProcess child(cli({"get", server_.url("/hang?key=sigint"), "--transport", transport, "--json"}));
    ASSERT_TRUE(wait_for([&] { return server_.count("sigint") == 1; }, 10s));
    const auto sent = std::chrono::steady_clock::now();
    child.send_signal(SIGINT);
    const auto r = child.wait(10s);
    EXPECT_EQ(r.exit_code, 130) << transport << "\n" << r.err;
    EXPECT_LT(r.ended - sent, 1000ms) << transport;
    const auto j = report_of(r);
    EXPECT_EQ(j["outcome"].string(), "cancelled");
    EXPECT_EQ(j["reason"].string(), "cancelled");
  }
}

TEST_F(CliTest, Sigterm_DuringBackoff_Exit130) {
  ChildProcess child(cli({"get", server_.url("/status?code=503&key=sigterm"), "--backoff-initial", "30s",
                          "--backoff-max", "30s", "--jitter", "none", "--json"}));
  ASSERT_TRUE(wait_for([&] { return server_.count("sigterm") == 1; }, 10s));
  const auto sent = std::chrono::steady_clock::now();
  child.send_signal(SIGTERM);
  const auto r = child.wait(10s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_LT(r.ended - sent, 1000ms);
  EXPECT_EQ(report_of(r)["outcome"].string(), "cancelled");
}

TEST_F(CliTest, Sigint_WhileStreaming_Exit130) {
  ChildProcess child(cli({"get", server_.url("/drip?key=stream&n=100000&interval_ms=50&chunk=10"), "--json"}));
  ASSERT_TRUE(child.read_until([](const std::string& out, const std::string&) { return out.size() >= 20; }, 10s));
  const auto sent = std::chrono::steady_clock::now();
  child.send_signal(SIGINT);
  const auto r = child.wait(10s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_LT(r.ended - sent, 1000ms);
  EXPECT_EQ(report_of(r)["outcome"].string(), "cancelled");
}

TEST_F(CliTest, Sigint_WhileStdoutIsBlocked_StillExits130) {
  // Nobody reads stdout: the body write blocks once the pipe is full, and with it the thread that
  // would run on_cancel. The tool must still leave within about a second.
  ChildProcess child(cli({"get", server_.url("/bytes?key=blocked&n=52428800"), "--json"}),
                     ChildOptions{.read_stdout = false});
  ASSERT_TRUE(wait_for([&] { return server_.count("blocked") == 1; }, 10s));
  std::this_thread::sleep_for(300ms);  // let the pipe fill; any moment after the request will do
  const auto sent = std::chrono::steady_clock::now();
  child.send_signal(SIGINT);
  const auto r = child.wait(10s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_LT(r.ended - sent, 1500ms);
  EXPECT_EQ(report_of(r)["outcome"].string(), "cancelled");
}

// ---- bounded memory --------------------------------------------------------------------------

constexpr long kMaxRssKb = 64 * 1024;

// ASan keeps freed memory in quarantine (256 MB by default) and adds shadow memory, so a sanitized
// child's peak RSS grows with what it has ever allocated: the bound only means something without it.
void expect_bounded_rss(long max_rss_kb) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)max_rss_kb;
  GTEST_SKIP() << "peak RSS is not meaningful under a sanitizer";
#else
  EXPECT_LT(max_rss_kb, kMaxRssKb);
#endif
}

TEST_F(CliTest, BigBody_ToFile_BoundedMemory) {
  TempDir dir;
  const auto file = dir.path() / "big.bin";
  const auto r = run_child(cli({"get", server_.url("/bytes?n=52428800"), "-o", file.string()}), 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::file_size(file), 52428800u);
  expect_bounded_rss(r.max_rss_kb);
}

TEST_F(CliTest, BigBody_ToStdout_BoundedMemory) {
  const auto r = run_child(cli({"get", server_.url("/bytes?n=52428800&chunked=1")}), 120s,
                           ChildOptions{.count_stdout_only = true});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out_bytes, 52428800u);
  expect_bounded_rss(r.max_rss_kb);
}

// ---- serve, bench ----------------------------------------------------------------------------

TEST_F(CliTest, Serve_PrintsAddressAndExitsZeroOnSigterm) {
  ChildProcess child(cli({"serve", "--port", "0"}));
  ASSERT_TRUE(child.read_until(
      [](const std::string& out, const std::string&) { return out.find("/fixed") != std::string::npos; }, 10s));
  // Use the server it printed: the tool fetching from itself.
  std::string printed;
  ASSERT_TRUE(child.read_until(
      [&](const std::string& out, const std::string&) {
        const auto at = out.find("http://127.0.0.1:");
        if (at == std::string::npos) return false;
        const auto end = out.find_first_of(" \n", at);
        printed = out.substr(at, end - at);
        return true;
      },
      1s));
  const auto fetched = run_child(cli({"get", printed + "/fixed"}));
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(fetched.out, "hello from fetchpipe\n");
  child.send_signal(SIGTERM);
  const auto r = child.wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliTest, Bench_PrintsARowPerTransport) {
  const auto r = run_child(cli({"bench", "--duration", "300ms", "--concurrency", "2"}), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int rows = 0;
  for (const char* transport : {"curl", "httplib"}) {
    const auto at = r.out.find(fmt::format("\n{} ", transport));
    EXPECT_NE(at, std::string::npos) << r.out;
    rows += at != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(rows, 2);
}

TEST_F(CliTest, Bench_JsonRows) {
  const auto r = run_child(cli({"bench", "--requests", "50", "--concurrency", "1,2", "--transport", "curl", "--url",
                                server_.url("/fixed"), "--json"}), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = parse_json(r.out);
  ASSERT_TRUE(j.has_value()) << r.out;
  const auto& rows = (*j)["rows"].array();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["requests"].number(), 50);
  EXPECT_EQ(rows[1]["concurrency"].number(), 2);
  EXPECT_EQ(rows[0]["errors"].number(), 0);
}

TEST_F(CliTest, Bench_BadValue_Exit2) {
  const auto r = run_child(cli({"bench", "--concurrency", "0"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--concurrency"), std::string::npos);
}

}  // namespace
}  // namespace fetchpipe::test
