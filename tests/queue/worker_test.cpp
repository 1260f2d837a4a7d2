// `fetchpipe enqueue` and `fetchpipe worker` end to end: a private redis-server, real worker
// processes (the CLI binary), and the in-process fault server as the web.
//
// The invariants every test checks in the end: each job has exactly one result in NAME:results,
// nothing is left pending in the group, and every output file is complete and byte-exact.
#include <fetchpipe/tools/fault_server.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "child_process.hpp"
#include "redis_server.hpp"

namespace fetchpipe::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kCli = FETCHPIPE_CLI_PATH;

// The default suite runs 2,000 jobs (CI's budget); FETCHPIPE_QUEUE_JOBS=20000 runs the full size.
int job_count() {
  const char* env = std::getenv("FETCHPIPE_QUEUE_JOBS");
  return env != nullptr ? std::max(20, std::atoi(env)) : 2000;
}

std::string pattern_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "fetchpipe-queue-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> worker_argv(const RedisServer& redis, const std::string& stream, const std::string& out,
                                     std::vector<std::string> extra) {
  // No retry budget: these tests judge exactly-once results against a fixed plan of faults, each
  // of which the plan expects retried; the budget (tested on its own) would refuse some of them.
  std::vector<std::string> argv{kCli, "worker", "--redis", redis.url(), "--stream", stream, "--output-dir", out,
                                "--backoff-initial", "1ms", "--backoff-max", "20ms", "--max-per-host", "64",
                                "--no-retry-budget"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

void enqueue(const RedisServer& redis, const std::string& stream, const std::vector<std::string>& lines,
             const std::string& dir) {
  const std::string file = dir + "/jobs.txt";
  {
    std::ofstream out(file);
    for (const auto& l : lines) out << l << '\n';
  }
  const auto r = run_child({kCli, "enqueue", "--redis", redis.url(), "--stream", stream, "-i", file}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out, std::to_string(lines.size()) + "\n");
}

long long pending(queue::RedisConnection& conn, const std::string& stream) {
  const queue::Reply reply = conn.command({"XPENDING", stream, "fetchpipe"});
  if (queue::is_error(reply.get())) return 0;  // NOGROUP: no worker has started yet
  return queue::integer_of(queue::element(reply.get(), 0, "XPENDING"), "XPENDING");
}

long long stream_length(queue::RedisConnection& conn, const std::string& key) {
  return integer_command(conn, {"XLEN", key});
}

// Polls (bounded) until `key` holds at least `n` entries.
bool wait_for_length(const RedisServer& redis, const std::string& key, long long n, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      auto conn = redis.connect();
      if (stream_length(conn, key) >= n) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// What a job should produce: the body on success, nothing on failure.
struct Expected {
  bool success = true;
  std::string body;
};

// Checks the end state: one result per job, none pending, bodies byte-exact, no stray files.
void check_results(const RedisServer& redis, const std::string& stream, const std::map<std::string, Expected>& by_url,
                   const std::string& out_dir) {
  auto conn = redis.connect();
  const auto jobs = read_stream(conn, stream);
  const auto results = read_stream(conn, stream + ":results");
  std::map<std::string, std::string> url_of;
  for (const auto& j : jobs) url_of[j.id] = j.fields.at("job");
  std::map<std::string, int> seen;
  std::set<std::string> outputs;
  for (const auto& r : results) {
    const std::string& id = r.fields.at("id");
    ++seen[id];
    ASSERT_TRUE(url_of.count(id)) << "a result for an unknown job " << id;
    const Expected& want = by_url.at(url_of[id]);
    const std::string& outcome = r.fields.at("outcome");
    EXPECT_EQ(outcome, want.success ? "success" : "failure") << url_of[id] << " " << r.fields.at("error");
    if (outcome == "success") {
      const std::string& output = r.fields.at("output");
      EXPECT_TRUE(outputs.insert(output).second) << "two jobs wrote " << output;
      EXPECT_EQ(read_file(output), want.body) << url_of[id];
      EXPECT_EQ(r.fields.at("bytes"), std::to_string(want.body.size()));
    } else {
      EXPECT_EQ(r.fields.at("output"), "");
    }
  }
  EXPECT_EQ(seen.size(), jobs.size()) << "jobs without a result";
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "job " << id << " has " << n << " results";
  EXPECT_EQ(pending(conn, stream), 0);
  // Complete or absent: nothing but the committed outputs in the directory.
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    ++files;
    EXPECT_TRUE(outputs.count(entry.path().string())) << "stray file " << entry.path();
  }
  EXPECT_EQ(files, outputs.size());
}

// The standard mix: 1 KiB bodies, 5 % failing (500), some cut mid-body once and then whole
// (flaky truncate, retried: the output must still be exact), some cut every time (failure).
struct Workload {
  std::vector<std::string> lines;
  std::map<std::string, Expected> by_url;
};

Workload make_workload(const tools::FaultServer& server, int n, const std::string& tag) {
  Workload w;
  for (int i = 0; i < n; ++i) {
    std::string url;
    Expected e;
    if (i % 20 == 7) {
      url = server.url("/status?code=500&j=" + tag + std::to_string(i));
      e.success = false;
    } else if (i % 50 == 3) {
      url = server.url("/flaky?fault=truncate&key=" + tag + std::to_string(i));
      e.body = "ok after 1 failures\n";
    } else if (i % 200 == 11) {
      url = server.url("/truncate?n=1000&sent=300&j=" + tag + std::to_string(i));
      e.success = false;
    } else {
      url = server.url("/bytes?n=1024&j=" + tag + std::to_string(i));
      e.body = pattern_bytes(1024);
    }
    w.lines.push_back(url);
    w.by_url[url] = e;
  }
  return w;
}

TEST(QueueWorker, ManyJobsThreeWorkersExactlyOneResultEach) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  const std::string out = dir.path() + "/out";
  const int n = job_count();
  const Workload w = make_workload(server, n, "m");
  enqueue(redis, "many", w.lines, dir.path());
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<ChildProcess>(
        worker_argv(redis, "many", out, {"--consumer", "w" + std::to_string(i), "--exit-when-empty", "-j", "16"})));
  }
  for (auto& worker : workers) {
    const auto r = worker->wait(600s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%d jobs, 3 workers: %.1f s, %.0f jobs/s\n", n, seconds, n / seconds);
  check_results(redis, "many", w.by_url, out);
}

long long total_commands(queue::RedisConnection& conn) {
  const queue::Reply reply = conn.command({"INFO", "stats"});
  const std::string info(queue::text_of(reply.get(), "INFO"));
  const auto at = info.find("total_commands_processed:");
  return std::stoll(info.substr(at + std::string_view("total_commands_processed:").size()));
}

// Redis's own cost per job stays flat when every job wants the same file name: naming the
// 1000th "bytes" must not try the 999 names before it one by one.
TEST(QueueWorker, RedisCommandsPerJobStayFlatWithOneSharedName) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  const std::string out = dir.path() + "/out";
  Workload w;
  for (int i = 0; i < 400; ++i) {
    const std::string url = server.url("/bytes?n=16&j=" + std::to_string(i));
    w.lines.push_back(url);
    w.by_url[url] = Expected{true, pattern_bytes(16)};
  }
  enqueue(redis, "flat", w.lines, dir.path());
  auto conn = redis.connect();
  const long long before = total_commands(conn);
  const auto r = run_child(worker_argv(redis, "flat", out, {"--exit-when-empty", "-j", "16"}), 300s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const double per_job = static_cast<double>(total_commands(conn) - before) / 400.0;
  std::printf("Redis commands per job (server side, scripts' inner calls included): %.2f\n", per_job);
  EXPECT_LT(per_job, 12.0);
  check_results(redis, "flat", w.by_url, out);
}

TEST(QueueWorker, KilledWorkersJobsAreClaimedAndFinishedOnce) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  const std::string out = dir.path() + "/out";
  Workload w;
  for (int i = 0; i < 600; ++i) {
    // Slow enough that a kill always finds jobs in flight.
    const std::string url = server.url("/delay?ms=30&j=" + std::to_string(i));
    w.lines.push_back(url);
    w.by_url[url] = Expected{true, "delayed 30 ms\n"};
  }
  enqueue(redis, "kill", w.lines, dir.path());
  const std::vector<std::string> opts{"--claim-after", "1s", "-j", "8"};
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(std::make_unique<ChildProcess>(worker_argv(redis, "kill", out, opts)));
  std::mt19937 random{std::random_device{}()};
  long long progress = 0;
  for (int round = 0; round < 4; ++round) {
    // A random moment: after a random number of further results.
    progress += std::uniform_int_distribution<int>(20, 80)(random);
    ASSERT_TRUE(wait_for_length(redis, "kill:results", progress, 60s)) << "no progress in round " << round;
    auto& victim = workers[static_cast<std::size_t>(round) % workers.size()];
    victim->send_signal(SIGKILL);
    const auto r = victim->wait(10s);
    EXPECT_EQ(r.term_signal, SIGKILL);
    victim = std::make_unique<ChildProcess>(worker_argv(redis, "kill", out, opts));
  }
  // The survivors finish, including what the killed ones left pending.
  for (auto& worker : workers) worker->send_signal(SIGTERM);
  for (auto& worker : workers) (void)worker->wait(30s);
  const auto r = run_child(worker_argv(redis, "kill", out, {"--claim-after", "1s", "-j", "16", "--exit-when-empty"}),
                           120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A killed worker may leave a temporary file; the final check wants none, so remove them.
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().filename().string().starts_with(".")) fs::remove(entry.path());
  }
  check_results(redis, "kill", w.by_url, out);
}

TEST(QueueWorker, RedisRestartMidRunWorkersReconnectAndFinish) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  const std::string out = dir.path() + "/out";
  Workload w;
  for (int i = 0; i < 800; ++i) {
    const std::string url = server.url("/delay?ms=5&j=" + std::to_string(i));
    w.lines.push_back(url);
    w.by_url[url] = Expected{true, "delayed 5 ms\n"};
  }
  enqueue(redis, "restart", w.lines, dir.path());
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(std::make_unique<ChildProcess>(
        worker_argv(redis, "restart", out, {"--exit-when-empty", "--claim-after", "2s", "-j", "8"})));
  }
  ASSERT_TRUE(wait_for_length(redis, "restart:results", 150, 60s));
  redis.restart();
  bool said_reconnected = false;
  for (auto& worker : workers) {
    const auto r = worker->wait(120s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    said_reconnected = said_reconnected || r.err.find("reconnected to Redis") != std::string::npos;
    EXPECT_NE(r.err.find("lost Redis"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(said_reconnected);
  check_results(redis, "restart", w.by_url, out);
}

TEST(QueueWorker, PoisonJobEndsInDeadAfterMaxDeliveries) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  const std::string out = dir.path() + "/out";
  // A job that never finishes: every worker that takes it dies holding it (we kill it).
  enqueue(redis, "poison", {server.url("/hang")}, dir.path());
  auto conn = redis.connect();
  const std::vector<std::string> opts{"--claim-after", "300ms", "--max-deliveries", "2", "--attempt-timeout", "60s"};
  for (int delivery = 1; delivery <= 2; ++delivery) {
    ChildProcess worker(worker_argv(redis, "poison", out, opts));
    // Wait (bounded) until the job's delivery count reaches this delivery.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    long long count = 0;
    while (count < delivery && std::chrono::steady_clock::now() < deadline) {
      const queue::Reply reply = conn.command({"XPENDING", "poison", "fetchpipe", "-", "+", "10"});
      count = !queue::is_error(reply.get()) && reply->elements == 1 ? reply->element[0]->element[3]->integer : 0;
      if (count < delivery) std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(count, delivery);
    worker.send_signal(SIGKILL);
    (void)worker.wait(10s);
  }
  const auto r = run_child(worker_argv(redis, "poison", out, {"--claim-after", "300ms", "--max-deliveries", "2",
                                                              "--exit-when-empty"}),
                           60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("moved to poison:dead"), std::string::npos) << r.err;
  const auto dead = read_stream(conn, "poison:dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].fields.at("job"), server.url("/hang"));
  EXPECT_EQ(dead[0].fields.at("deliveries"), "3");
  EXPECT_NE(dead[0].fields.at("error").find("more than --max-deliveries 2"), std::string::npos);
  EXPECT_EQ(stream_length(conn, "poison:results"), 0);
  EXPECT_EQ(pending(conn, "poison"), 0);
}

TEST(QueueWorker, SigtermDrainsThenCancelledJobsFinishElsewhere) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  const std::string out = dir.path() + "/out";
  const std::vector<std::string> lines{server.url("/delay?ms=200&key=d1"), server.url("/delay?ms=200&key=d2"),
                                       server.url("/delay?ms=4000&key=d3"), server.url("/delay?ms=4000&key=d4")};
  enqueue(redis, "drain", lines, dir.path());
  auto conn = redis.connect();
  ChildProcess first(worker_argv(redis, "drain", out, {"--consumer", "first", "--drain-timeout", "1s"}));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  // Signal once every fetch reached the server (taken from the stream is not enough: started).
  const auto all_started = [&] {
    return server.count("d1") + server.count("d2") + server.count("d3") + server.count("d4") == 4;
  };
  while (!all_started() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(all_started());
  const auto signalled = std::chrono::steady_clock::now();
  first.send_signal(SIGTERM);
  const auto r = first.wait(20s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_LT(took, 3s) << "the drain took longer than --drain-timeout allows";
  EXPECT_NE(r.err.find("stay pending"), std::string::npos) << r.err;
  // The two short jobs finished within the drain; the long ones were cancelled and are pending.
  EXPECT_EQ(stream_length(conn, "drain:results"), 2);
  EXPECT_EQ(pending(conn, "drain"), 2);
  const auto second = run_child(
      worker_argv(redis, "drain", out, {"--consumer", "second", "--claim-after", "500ms", "--exit-when-empty"}), 60s);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  std::map<std::string, Expected> by_url;
  for (const auto& l : lines) by_url[l] = {true, l.find("4000") != std::string::npos ? "delayed 4000 ms\n" : "delayed 200 ms\n"};
  check_results(redis, "drain", by_url, out);
  for (const auto& result : read_stream(conn, "drain:results")) {
    const bool long_job = result.fields.at("bytes") == "16";
    EXPECT_EQ(result.fields.at("consumer"), long_job ? "second" : "first");
  }
}

TEST(QueueWorker, ExitWhenEmptyOnAnEmptyStream) {
  RedisServer redis;
  TempDir dir;
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_child(worker_argv(redis, "empty", dir.path(), {"--exit-when-empty"}), 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(QueueWorker, JsonPrintsEachRecordedResult) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  // A JSON object line (batch mode's format) names its own output, subdirectory included.
  enqueue(redis, "json",
          {server.url("/bytes?n=10"), server.url("/status?code=404"),
           R"({"url": ")" + server.url("/bytes?n=5") + R"(", "output": "sub/five.bin"})"},
          dir.path());
  const auto r = run_child(worker_argv(redis, "json", dir.path() + "/o", {"--exit-when-empty", "--json",
                                                                           "--consumer", "c1"}), 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("outcome":"success","status":200,"error":null,"reason":null,"attempts":1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("outcome":"failure","status":404,"error":{"kind":"http_status")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("consumer":"c1")"), std::string::npos);
  EXPECT_EQ(read_file(dir.path() + "/o/sub/five.bin"), pattern_bytes(5));
  EXPECT_EQ(read_file(dir.path() + "/o/bytes"), pattern_bytes(10));
}

// A job's `output` never leads out of --output-dir, not even through a link planted in it.
TEST(QueueWorker, OutputThroughALinkIsRefused) {
  RedisServer redis;
  tools::FaultServer server;
  TempDir dir;
  TempDir elsewhere;
  const std::string out = dir.path() + "/o";
  fs::create_directories(out);
  fs::create_directory_symlink(elsewhere.path(), out + "/sub");
  enqueue(redis, "link", {R"({"url": ")" + server.url("/bytes?n=5") + R"(", "output": "sub/x.bin"})"}, dir.path());
  const auto r = run_child(worker_argv(redis, "link", out, {"--exit-when-empty"}), 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(elsewhere.path() + "/x.bin")) << "the body was written through the link";
  auto conn = redis.connect();
  const auto results = read_stream(conn, "link:results");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].fields.at("outcome"), "failure");
  EXPECT_NE(results[0].fields.at("error").find("link"), std::string::npos) << results[0].fields.at("error");
}

// --- configuration errors ------------------------------------------------------------------

TEST(QueueCli, BadRedisUrlsAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"http://127.0.0.1", "--redis: expected redis://[:password@]host[:port][/db], got scheme 'http'"},
      {"redis://127.0.0.1:99999", "--redis: port must be 1..65535, got '99999'"},
      {"redis://127.0.0.1/abc", "--redis: database must be a whole number >= 0, got 'abc'"},
      {"redis://", "--redis: missing host"},
      {"rediss://127.0.0.1", "--redis: TLS (rediss://) is not supported"}};
  for (const auto& [url, message] : cases) {
    for (const char* command : {"worker", "enqueue"}) {
      const auto r = run_child({kCli, command, "--redis", url, "--stream", "s", "http://127.0.0.1/"}, 10s);
      EXPECT_EQ(r.exit_code, 2) << command << " " << url;
      EXPECT_EQ(r.err_lines().size(), 1u) << r.err;  // exactly one line
      EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    }
  }
  const auto missing = run_child({kCli, "worker", "--stream", "s"}, 10s);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--redis: missing"), std::string::npos);
  const auto bad_flag = run_child({kCli, "worker", "--redis", "redis://127.0.0.1", "--stream", "s", "-o", "x"}, 10s);
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("unknown option '-o'"), std::string::npos) << bad_flag.err;
  const auto bad_dur = run_child({kCli, "worker", "--redis", "redis://127.0.0.1", "--stream", "s", "--claim-after", "5"}, 10s);
  EXPECT_EQ(bad_dur.exit_code, 2);
  EXPECT_NE(bad_dur.err.find("--claim-after: not a duration"), std::string::npos) << bad_dur.err;
  const auto bad_retry = run_child({kCli, "worker", "--redis", "redis://127.0.0.1", "--stream", "s", "--max-attempts", "0"}, 10s);
  EXPECT_EQ(bad_retry.exit_code, 2);
  EXPECT_NE(bad_retry.err.find("--max-attempts"), std::string::npos) << bad_retry.err;
}

TEST(QueueCli, UnreachableServer) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(free_loopback_port());
  const auto e = run_child({kCli, "enqueue", "--redis", url, "--stream", "s", "http://127.0.0.1/"}, 20s);
  EXPECT_EQ(e.exit_code, 4) << e.err;
  EXPECT_NE(e.err.find("cannot connect to Redis at 127.0.0.1:"), std::string::npos) << e.err;
  // The worker keeps trying, says so, and still stops on SIGTERM.
  ChildProcess worker({kCli, "worker", "--redis", url, "--stream", "s"});
  EXPECT_TRUE(worker.read_until(
      [](const std::string&, const std::string& err) {
        return err.find("retrying in") != std::string::npos && err.find("Connection refused") != std::string::npos;
      },
      20s));
  worker.send_signal(SIGTERM);
  const auto r = worker.wait(10s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
}

TEST(QueueCli, WrongPasswordIsAUsageError) {
  RedisServer redis({.password = "right"});
  const std::string port = std::to_string(redis.port());
  for (const std::string& url : {"redis://:wrong@127.0.0.1:" + port, "redis://127.0.0.1:" + port}) {
    const auto e = run_child({kCli, "enqueue", "--redis", url, "--stream", "s", "http://127.0.0.1/"}, 20s);
    EXPECT_EQ(e.exit_code, 2) << url << e.err;
    EXPECT_NE(e.err.find("refused"), std::string::npos) << e.err;
    EXPECT_EQ(e.err.find("wrong"), std::string::npos) << "the password must not be printed: " << e.err;
    const auto w = run_child({kCli, "worker", "--redis", url, "--stream", "s"}, 20s);
    EXPECT_EQ(w.exit_code, 2) << url << w.err;
  }
  const auto ok = run_child({kCli, "enqueue", "--redis", redis.url(), "--stream", "s", "http://127.0.0.1/"}, 20s);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "1\n");
}

TEST(QueueCli, EnqueueWithABadLineAddsNothing) {
  RedisServer redis;
  TempDir dir;
  const std::string file = dir.path() + "/jobs.txt";
  {
    std::ofstream f(file);
    f << "# a comment\nhttp://127.0.0.1/a\n\n{\"url\": \"http://127.0.0.1/c\", \"output\": \"../x\"}\n";
  }
  const auto r = run_child({kCli, "enqueue", "--redis", redis.url(), "--stream", "s", "-i", file}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("line 4"), std::string::npos) << r.err;
  auto conn = redis.connect();
  EXPECT_EQ(integer_command(conn, {"EXISTS", "s"}), 0);
}

TEST(QueueCli, EnqueueToAKeyOfAnotherTypeFails) {
  RedisServer redis;
  auto conn = redis.connect();
  (void)conn.command({"SET", "taken", "a string"});
  const auto r = run_child({kCli, "enqueue", "--redis", redis.url(), "--stream", "taken", "http://127.0.0.1/"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("WRONGTYPE"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace fetchpipe::test
