// `fetchpipe simulate`, run as a child process: the shape of its table, --json, --csv and --svg,
// the same output for the same seed, and clear usage errors.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "cli_support.hpp"
#include "mini_json.hpp"

namespace fetchpipe::test {
namespace {

namespace fs = std::filesystem;

const std::string kCli = FETCHPIPE_CLI_PATH;

// Short runs: the shape is the same as the default minute at 1000/s.
std::vector<std::string> simulate(std::vector<std::string> args) {
  std::vector<std::string> argv{kCli, "simulate", "--duration", "5s", "--rate", "300/s", "--clients", "3"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const std::vector<std::string> kConfigs{"no retries", "retries", "retries + budget", "retries + budget + breaker"};
// The tail scenario also compares hedging: a fixed delay, then the origin's observed p95.
const std::vector<std::string> kTailConfigs{"no retries",
                                            "retries",
                                            "retries + budget",
                                            "retries + budget + breaker",
                                            "retries + budget + hedge 50ms",
                                            "retries + budget + hedge auto"};

TEST(SimulateCli, JsonHasExactlyTheContractsKeys) {
  for (const std::string scenario : {"outage", "overload", "tail"}) {
    const auto r = run_child(simulate({"--scenario", scenario, "--seed", "9", "--json"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    const auto json = parse_json(lines[0]);
    ASSERT_TRUE(json) << lines[0];
    ASSERT_TRUE(json->is_object());
    EXPECT_EQ(json->object().size(), 3u);
    EXPECT_EQ((*json)["scenario"].string(), scenario);
    EXPECT_EQ((*json)["seed"].number(), 9);
    const auto& rows = (*json)["rows"].array();
    const auto& configs = scenario == "tail" ? kTailConfigs : kConfigs;
    ASSERT_EQ(rows.size(), configs.size());
    const std::set<std::string> keys{"config",      "offered", "attempts", "amplification", "success_pct",
                                     "p50_ms",      "p99_ms",  "p999_ms",  "recovery_ms"};
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      std::set<std::string> seen;
      for (const auto& [k, v] : row.object()) seen.insert(k);
      EXPECT_EQ(seen, keys) << scenario;
      EXPECT_EQ(row["config"].string(), configs[i]);
      EXPECT_GT(row["offered"].number(), 1000);
      // Every fetch is sent at least once, except those an open breaker refused unsent.
      if (configs[i].find("breaker") == std::string::npos) {
        EXPECT_GE(row["attempts"].number(), row["offered"].number());
      }
      EXPECT_NEAR(row["amplification"].number(), row["attempts"].number() / row["offered"].number(), 0.001);
      EXPECT_GE(row["success_pct"].number(), 0);
      EXPECT_LE(row["success_pct"].number(), 100);
      for (const char* p : {"p50_ms", "p99_ms", "p999_ms"}) EXPECT_TRUE(row[p].is_number()) << p;
      EXPECT_LE(row["p50_ms"].number(), row["p99_ms"].number());
      EXPECT_LE(row["p99_ms"].number(), row["p999_ms"].number());
      if (scenario == "tail") {
        EXPECT_TRUE(row["recovery_ms"].is_null());
      } else {
        EXPECT_TRUE(row["recovery_ms"].is_null() || row["recovery_ms"].number() >= 0);
      }
    }
    // No retries: one attempt per fetch, whatever the scenario.
    EXPECT_EQ(rows[0]["attempts"].number(), rows[0]["offered"].number());
  }
}

TEST(SimulateCli, TheSameSeedPrintsTheSameTable) {
  const auto a = run_child(simulate({"--scenario", "overload", "--seed", "42"}));
  const auto b = run_child(simulate({"--scenario", "overload", "--seed", "42"}));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  const auto table = lines_of(a.out);
  ASSERT_GE(table.size(), 2 + kConfigs.size());
  EXPECT_NE(table[0].find("overload"), std::string::npos);
  EXPECT_NE(table[0].find("seed 42"), std::string::npos);
  for (const char* column : {"config", "offered", "attempts", "ampl.", "success", "p50 ms", "p99 ms", "p99.9 ms",
                             "recovery ms"}) {
    EXPECT_NE(table[1].find(column), std::string::npos) << column;
  }
  for (std::size_t i = 0; i < kConfigs.size(); ++i) EXPECT_EQ(table[2 + i].rfind(kConfigs[i], 0), 0u) << table[2 + i];

  const auto json_a = run_child(simulate({"--seed", "42", "--json"}));
  const auto json_b = run_child(simulate({"--seed", "42", "--json"}));
  EXPECT_EQ(json_a.out, json_b.out);
  // Another seed is another run (allowed to differ; with Poisson arrivals it does).
  const auto json_c = run_child(simulate({"--seed", "43", "--json"}));
  EXPECT_NE(json_a.out, json_c.out);
}

TEST(SimulateCli, CsvHasOneLinePerConfigurationAndSlice) {
  TempDir dir;
  const auto csv = dir.path() / "series.csv";
  const auto r = run_child(simulate({"--csv", csv.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(read_all(csv));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "config,t_ms,offered,attempts,successes,failures,in_flight");
  EXPECT_EQ(lines.size(), 1 + kConfigs.size() * 50);  // 5 s in slices of 100 ms
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields;
    std::istringstream in(lines[i]);
    for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
    ASSERT_EQ(fields.size(), 7u) << lines[i];
    EXPECT_EQ(fields[0], kConfigs[(i - 1) / 50]);
    EXPECT_EQ(std::stoll(fields[1]), static_cast<long long>(((i - 1) % 50) * 100));
    for (std::size_t f = 2; f < 7; ++f) {
      EXPECT_FALSE(fields[f].empty());
      EXPECT_EQ(fields[f].find_first_not_of("0123456789"), std::string::npos) << lines[i];
    }
  }
}

TEST(SimulateCli, SvgIsOneSelfContainedDocument) {
  TempDir dir;
  const auto svg = dir.path() / "chart.svg";
  const auto r = run_child(simulate({"--scenario", "outage", "--svg", svg.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto text = read_all(svg);
  EXPECT_EQ(text.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(text.substr(text.size() - 7), "</svg>\n");
  EXPECT_EQ(text.find("<script"), std::string::npos);
  EXPECT_EQ(text.find("href"), std::string::npos) << "nothing external";
  // Two panels, each with the offered load and one line per configuration.
  std::size_t polylines = 0;
  for (auto at = text.find("<polyline"); at != std::string::npos; at = text.find("<polyline", at + 1)) {
    ++polylines;
    const auto end = text.find('>', at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(text[end - 1], '/') << "every polyline closes itself";
  }
  EXPECT_EQ(polylines, 2 * (kConfigs.size() + 1));
  // Every element opened is closed: '<' and '>' pair up, and only <svg> has a separate end tag.
  EXPECT_EQ(std::count(text.begin(), text.end(), '<'), std::count(text.begin(), text.end(), '>'));
  for (const auto& c : kConfigs) {
    std::string escaped = c;
    EXPECT_NE(text.find(">" + escaped + "<"), std::string::npos) << "legend names " << c;
  }
}

// Hedging cuts the tail the retries alone leave: with 2 % of requests taking about 1 s, the p99
// without hedging is a slow request; with hedging after the observed p95 it is a fast one.
TEST(SimulateCli, TailHedgingCutsTheP99ForFewExtraAttempts) {
  const auto r = run_child(simulate({"--scenario", "tail", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = parse_json(lines_of(r.out).at(0));
  ASSERT_TRUE(json);
  const auto& rows = (*json)["rows"].array();
  ASSERT_EQ(rows.size(), kTailConfigs.size());
  const auto& plain = rows[2];  // retries + budget
  const auto& fixed = rows[4];
  const auto& automatic = rows[5];
  EXPECT_GT(plain["p99_ms"].number(), 500);
  EXPECT_LT(fixed["p99_ms"].number(), 100);
  EXPECT_LT(automatic["p99_ms"].number() * 10, plain["p99_ms"].number());
  EXPECT_LE(automatic["amplification"].number(), 1.05 * plain["amplification"].number());
}

// --hedge in another scenario adds one row with that hedging.
TEST(SimulateCli, HedgeAddsARowOutsideTheTailScenario) {
  const auto r = run_child(simulate({"--scenario", "outage", "--hedge", "20ms", "--hedge-max", "3", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = parse_json(lines_of(r.out).at(0));
  ASSERT_TRUE(json);
  const auto& rows = (*json)["rows"].array();
  ASSERT_EQ(rows.size(), kConfigs.size() + 1);
  EXPECT_EQ(rows.back()["config"].string(), "retries + budget + hedge 20ms");
}

TEST(SimulateCli, NoRetryBudgetReplacesTheBudgetRows) {
  const auto r = run_child(simulate({"--no-retry-budget", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = parse_json(lines_of(r.out).at(0));
  ASSERT_TRUE(json);
  const auto& rows = (*json)["rows"].array();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2]["config"].string(), "retries + breaker");
}

TEST(SimulateCli, BadFlagsExit2NamingTheFlagAndTheValue) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases{
      {{"--scenario", "meltdown"}, {"--scenario", "'meltdown'"}},
      {{"--clients", "0"}, {"--clients", "'0'"}},
      {{"--clients", "many"}, {"--clients", "'many'"}},
      {{"--rate", "5/h"}, {"--rate", "'5/h'"}},
      {{"--rate", "0/s"}, {"--rate", "'0/s'"}},
      {{"--duration", "0s"}, {"--duration", "'0s'"}},
      {{"--duration", "forever"}, {"--duration", "'forever'"}},
      {{"--seed", "-1"}, {"--seed", "'-1'"}},
      {{"--max-attempts", "0"}, {"--max-attempts", "'0'"}},
      {{"--jitter", "wobbly"}, {"--jitter", "'wobbly'"}},
      {{"--attempt-timeout", "0ms"}, {"--attempt-timeout", "'0ms'"}},
      {{"--retry-budget", "0.2,x"}, {"--retry-budget", "'0.2,x'"}},
      {{"--retry-budget", "-1"}, {"--retry-budget", "'-1'"}},
      {{"--circuit-breaker", "0"}, {"--circuit-breaker", "'0'"}},
      {{"--circuit-breaker", "3,soon"}, {"--circuit-breaker", "'3,soon'"}},
      {{"--hedge", "later"}, {"--hedge", "'later'"}},
      {{"--hedge-max", "4"}, {"--hedge-max", "'4'"}},
      {{"--no-retry-budget=yes"}, {"--no-retry-budget", "'yes'"}},
      {{"--json=1"}, {"--json", "'1'"}},
      {{"--csv"}, {"--csv", "missing value"}},
      {{"--csv", "/nonexistent-dir/x.csv"}, {"--csv", "/nonexistent-dir/x.csv"}},
      {{"--svg", "/nonexistent-dir/x.svg"}, {"--svg", "/nonexistent-dir/x.svg"}},
      {{"-o", "out"}, {"'-o'"}},
      {{"--header", "X: y"}, {"'--header'"}},
      {{"extra"}, {"'extra'"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{kCli, "simulate"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = run_child(argv);
    const std::string label = fmt::format("{}", fmt::join(c.args, " "));
    EXPECT_EQ(r.exit_code, 2) << label << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << label << ": nothing runs";
    const auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << label << "\n" << r.err;
    EXPECT_EQ(lines[0].rfind("fetchpipe: ", 0), 0u) << lines[0];
    for (const auto& m : c.mentions) EXPECT_NE(lines[0].find(m), std::string::npos) << label << ": " << lines[0];
  }
}

TEST(SimulateCli, HelpDescribesTheScenariosAndIsListedAtTheTop) {
  const auto r = run_child({kCli, "simulate", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"Usage", "outage", "overload", "tail", "--csv", "--svg", "--json", "--retry-budget",
                           "--circuit-breaker"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  EXPECT_NE(run_child({kCli, "--help"}).out.find("simulate"), std::string::npos);
}

}  // namespace
}  // namespace fetchpipe::test
