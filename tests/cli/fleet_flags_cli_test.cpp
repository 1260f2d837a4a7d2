// `get --retry-budget`, `--no-retry-budget`, `--circuit-breaker`, `--hedge` and `--hedge-max`: their
// validation, and that
// they reach the client (seen through --json attempts against the fault server).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include <fetchpipe/tools/fault_server.hpp>

#include "child_process.hpp"
#include "cli_support.hpp"
#include "mini_json.hpp"

namespace fetchpipe::test {
namespace {

const std::string kCli = FETCHPIPE_CLI_PATH;

class FleetFlagsCli : public ::testing::Test {
 protected:
  std::vector<std::string> get(const std::string& path, std::vector<std::string> args) {
    std::vector<std::string> argv{kCli, "get", server_.url(path)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  tools::FaultServer server_;
};

TEST_F(FleetFlagsCli, BadValuesExit2NamingTheFlagAndNothingIsSent) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases{
      {{"--retry-budget", "lots"}, {"--retry-budget", "'lots'"}},
      {{"--retry-budget", "0.2,x"}, {"--retry-budget", "'0.2,x'"}},
      {{"--retry-budget", "0.2,-1"}, {"--retry-budget", "'0.2,-1'"}},
      {{"--retry-budget", "5000"}, {"--retry-budget", "'5000'"}},
      {{"--retry-budget", "-0.5"}, {"--retry-budget", "'-0.5'"}},
      {{"--retry-budget"}, {"--retry-budget", "missing value"}},
      {{"--no-retry-budget=1"}, {"--no-retry-budget", "'1'"}},
      {{"--circuit-breaker", "0"}, {"--circuit-breaker", "'0'"}},
      {{"--circuit-breaker", "-3"}, {"--circuit-breaker", "'-3'"}},
      {{"--circuit-breaker", "three"}, {"--circuit-breaker", "'three'"}},
      {{"--circuit-breaker", "3,0s"}, {"--circuit-breaker", "'3,0s'"}},
      {{"--circuit-breaker", "3,5"}, {"--circuit-breaker", "'3,5'"}},
      {{"--hedge", "soon"}, {"--hedge", "'soon'"}},
      {{"--hedge", "0ms"}, {"--hedge", "'0ms'"}},
      {{"--hedge", "-5ms"}, {"--hedge", "'-5ms'"}},
      {{"--hedge"}, {"--hedge", "missing value"}},
      {{"--hedge", "auto", "--hedge-max", "1"}, {"--hedge-max", "'1'"}},
      {{"--hedge", "auto", "--hedge-max", "6"}, {"--hedge-max", "'6'"}},
      {{"--hedge", "auto", "--hedge-max", "two"}, {"--hedge-max", "'two'"}},
      {{"--hedge-max", "3"}, {"--hedge-max", "'3'", "--hedge"}},
  };
  for (const auto& c : cases) {
    for (const bool json : {false, true}) {
      server_.reset_counts();
      auto argv = get("/fixed", c.args);
      if (json) argv.emplace_back("--json");
      const auto r = run_child(argv);
      const std::string label = fmt::format("{} (json={})", fmt::join(c.args, " "), json);
      EXPECT_EQ(r.exit_code, 2) << label << "\n" << r.err;
      const auto lines = r.err_lines();
      ASSERT_EQ(lines.size(), json ? 2u : 1u) << label << "\n" << r.err;
      for (const auto& m : c.mentions) EXPECT_NE(lines[0].find(m), std::string::npos) << label << ": " << lines[0];
      EXPECT_EQ(server_.total_count(), 0) << label << ": a request was sent";
      if (json) {
        EXPECT_EQ(report_of(r)["error"]["kind"].string(), "invalid_request");
      }
    }
  }
}

TEST_F(FleetFlagsCli, GoodValuesAreAccepted) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--retry-budget", "0.5"},
                                               {"--retry-budget", "0.1,3"},
                                               {"--no-retry-budget"},
                                               {"--circuit-breaker", "5"},
                                               {"--circuit-breaker", "2,250ms"},
                                               {"--retry-budget=0", "--no-retry-budget", "--circuit-breaker=1,1m"},
                                               {"--hedge", "auto"},
                                               {"--hedge", "250ms", "--hedge-max", "5"},
                                               {"--hedge=1s", "--hedge-max=2"}}) {
    const auto r = run_child(get("/fixed", args));
    EXPECT_EQ(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
  }
}

TEST_F(FleetFlagsCli, HelpListsTheFleetFlags) {
  const auto r = run_child({kCli, "get", "--help"});
  for (const char* flag : {"--retry-budget RATIO[,MIN]", "--no-retry-budget", "--circuit-breaker N[,DUR]",
                           "--hedge DUR|auto", "--hedge-max N"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

// A budget of nothing (no ratio, no floor) refuses the first retry: one attempt, reason
// budget_exhausted, and the exit code of the last outcome (503: 3).
TEST_F(FleetFlagsCli, AnEmptyRetryBudgetRefusesTheRetry) {
  const auto r = run_child(get("/status?code=503", {"--retry-budget", "0,0", "--backoff-initial", "0ms", "--json"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const auto j = report_of(r);
  EXPECT_EQ(j["attempts"].array().size(), 1u) << r.err;
  EXPECT_EQ(j["reason"].string(), "budget_exhausted");
}

// --no-retry-budget: every attempt the policy allows is made.
TEST_F(FleetFlagsCli, NoRetryBudgetLetsEveryRetryThrough) {
  const auto r = run_child(
      get("/status?code=503", {"--no-retry-budget", "--max-attempts", "4", "--backoff-initial", "0ms", "--json"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const auto j = report_of(r);
  EXPECT_EQ(j["attempts"].array().size(), 4u) << r.err;
  EXPECT_EQ(j["reason"].string(), "attempts_exhausted");
  EXPECT_EQ(server_.total_count(), 4);
}

// --circuit-breaker 1: the first 503 opens the circuit; the retry is refused unsent, and with an
// open period longer than --timeout allows, the fetch ends with reason circuit_open.
TEST_F(FleetFlagsCli, CircuitBreakerOpensAfterNFailuresAndNothingMoreIsSent) {
  const auto r = run_child(get("/status?code=503", {"--circuit-breaker", "1,1m", "--timeout", "2s",
                                                    "--backoff-initial", "0ms", "--json"}));
  const auto j = report_of(r);
  EXPECT_EQ(j["reason"].string(), "circuit_open") << r.err;
  EXPECT_EQ(server_.total_count(), 1) << "nothing sent while the circuit is open";
}

// --hedge: the first request hangs at the server, the hedge 200 ms later answers; --json marks the
// hedge and the cancelled loser, and the server sees the loser's connection closed.
TEST_F(FleetFlagsCli, HedgeSendsASecondAttemptWhenTheFirstIsLate) {
  for (const std::string transport : {"curl", "httplib"}) {
    server_.reset_counts();
    const std::string key = "hedge-" + transport;
    const auto r = run_child(get("/flaky?fault=hang&fail=1&key=" + key,
                                 {"--hedge", "200ms", "--transport", transport, "--timeout", "20s", "--json"}));
    EXPECT_EQ(r.exit_code, 0) << transport << "\n" << r.err;
    const auto j = report_of(r);
    const auto& attempts = j["attempts"].array();
    ASSERT_EQ(attempts.size(), 2u) << r.err;
    EXPECT_EQ(attempts[0]["hedge"].boolean(), false);
    EXPECT_EQ(attempts[0]["error"].string(), "cancelled");
    EXPECT_EQ(attempts[1]["hedge"].boolean(), true);
    EXPECT_EQ(attempts[1]["status"].number(), 200);
    EXPECT_EQ(server_.count(key), 2);
  }
}

// Without --hedge nothing is hedged: the hanging attempt runs into the attempt timeout.
TEST_F(FleetFlagsCli, WithoutHedgeALateAttemptIsOnlyRetriedAfterItFails) {
  const auto r = run_child(get("/flaky?fault=hang&fail=1&key=nohedge",
                               {"--attempt-timeout", "300ms", "--backoff-initial", "0ms", "--json"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = report_of(r);
  const auto& attempts = j["attempts"].array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0]["error"].string(), "attempt_timeout");
  EXPECT_EQ(attempts[1]["hedge"].boolean(), false);
}

}  // namespace
}  // namespace fetchpipe::test
