#include "worker.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <unordered_map>

#include "job_fetch.hpp"
#include <fetchpipe/executor.hpp>

#include "batch_line.hpp"
#include "client_setup.hpp"
#include "json_writer.hpp"
#include "report.hpp"
#include "safe_name.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kBackoffFirst{100};
constexpr milliseconds kBackoffMax{5000};
// How long XREADGROUP may block: short while fetches run, so their results are recorded
// promptly; longer when idle, to spare Redis. Either way a signal is seen within it.
constexpr milliseconds kBlockBusy{50};
constexpr milliseconds kBlockIdle{500};
// After the drain timeout cancelled what was left, how long the cancels get to report.
constexpr milliseconds kCancelGrace{2000};
// After the drain, how long recording the last results may take (Redis may be away).
constexpr milliseconds kFinalRecord{3000};
constexpr int kMaxNameTries = 1000;
constexpr std::size_t kFinisherThreads = 4;

void say(std::string_view message) {
  fmt::print(stderr, "fetchpipe: worker: {}\n", printable(message));
  std::fflush(stderr);
}

std::string error_json(const FetchReport& r) {
  if (r.error_kind.empty()) return {};
  JsonWriter w;
  w.begin_object().key("kind").value(r.error_kind).key("message").value(r.error_message).end_object();
  return w.str();
}

// The fields of NAME:results. A value that would be null in JSON is the empty string.
queue::Fields result_fields(const JobResult& j, const std::string& consumer) {
  const FetchReport& r = j.report;
  return {{"id", j.id},
          {"outcome", std::string(outcome_name(r.outcome))},
          {"status", r.status ? std::to_string(*r.status) : std::string{}},
          {"error", error_json(r)},
          {"reason", r.reason && r.outcome != FetchReport::Outcome::success ? std::string(to_string(*r.reason)) : std::string{}},
          {"attempts", std::to_string(r.attempts.size())},
          {"elapsed_ms", std::to_string(to_ms(r.elapsed))},
          {"bytes", std::to_string(r.bytes)},
          {"output", j.output},
          {"consumer", consumer}};
}

std::string result_json(const JobResult& j, const std::string& consumer) {
  const FetchReport& r = j.report;
  JsonWriter w;
  w.begin_object().key("id").value(j.id).key("outcome").value(outcome_name(r.outcome)).key("status").value(r.status);
  w.key("error");
  if (r.error_kind.empty()) {
    w.null();
  } else {
    w.begin_object().key("kind").value(r.error_kind).key("message").value(r.error_message).end_object();
  }
  w.key("reason");
  if (r.reason && r.outcome != FetchReport::Outcome::success) w.value(to_string(*r.reason)); else w.null();
  w.key("attempts").value(static_cast<std::uint64_t>(r.attempts.size()));
  w.key("elapsed_ms").value(static_cast<std::int64_t>(to_ms(r.elapsed)));
  w.key("bytes").value(r.bytes);
  w.key("output");
  if (j.output.empty()) w.null(); else w.value(j.output);
  w.key("consumer").value(consumer).end_object();
  return w.str();
}

ClientOptions worker_client_options(const WorkerCommand& cmd) {
  ClientOptions options = client_options(cmd.fetch, static_cast<std::size_t>(cmd.jobs));
  options.admission.max_per_origin = cmd.max_per_host;
  return options;
}

class WorkerLoop {
 public:
  explicit WorkerLoop(WorkerCommand cmd)
      : cmd_(std::move(cmd)),
        queue_(cmd_.endpoint, cmd_.names,
               queue::JobQueueOptions{.claim_after = cmd_.claim_after, .max_deliveries = cmd_.max_deliveries}),
        client_(worker_client_options(cmd_)) {}

  int run() {
    SignalWatcher watcher([this](int signo) { on_signal(signo); });
    const int code = serve();
    if (code != kRunning) return code;
    return drain();
  }

 private:
  static constexpr int kRunning = -1;

  // Takes and runs jobs until a signal or an empty queue; kRunning means "drain now".
  int serve() {
    while (!stopping()) {
      if (!queue_.connected()) {
        const int code = reconnect();
        if (code != kRunning) return code;
        continue;
      }
      try {
        if (const int code = step(); code != kRunning) return code;
      } catch (const queue::RedisUnavailable& e) {
        queue_.disconnect();
        say(e.what());
      } catch (const std::runtime_error& e) {  // RedisReplyError, RedisRefused after a restart
        queue_.disconnect();
        say(fmt::format("Redis: {}; trying again in {}", e.what(), human_duration(kBackoffMax)));
        // Connecting again works at once, so without a pause a persistent error would spin.
        wait_for_event(kBackoffMax);
      }
    }
    return kRunning;
  }

  // One round: record, keep our jobs ours, claim, read. Throws on a lost connection.
  int step() {
    record_finished();
    heartbeat();
    start_waiting();
    if (free_slots() > 0 && Clock::now() >= next_claim_) {
      queue::Claimed claimed = queue_.claim_stale(free_slots());
      for (const queue::Job& job : claimed.poison) bury(job);
      const bool more = claimed.jobs.size() + claimed.poison.size() > 0;
      for (queue::Job& job : claimed.jobs) waiting_.push_back(std::move(job));
      // Walk the rest of the pending list soon if this call found some; else wait a while.
      next_claim_ = Clock::now() + (more ? milliseconds{0} : claim_interval());
      start_waiting();
    }
    if (free_slots() > 0) {
      const bool busy = in_flight() > 0;
      std::vector<queue::Job> jobs = queue_.read_new(free_slots(), busy ? kBlockBusy : kBlockIdle);
      if (jobs.empty() && cmd_.exit_when_empty && idle() && queue_.pending_count() == 0) {
        record_finished();
        if (idle()) return 0;
      }
      for (queue::Job& job : jobs) waiting_.push_back(std::move(job));
      start_waiting();
    } else {
      wait_for_event(milliseconds{100});
    }
    return kRunning;
  }

  milliseconds claim_interval() const {
    return std::clamp(cmd_.claim_after / 4, milliseconds{50}, milliseconds{5000});
  }

  // Resets the idle time of the jobs we are running (XCLAIM JUSTID does not count a delivery),
  // so a fetch that outlasts --claim-after is not taken for abandoned.
  void heartbeat() {
    if (Clock::now() < next_heartbeat_) return;
    next_heartbeat_ = Clock::now() + claim_interval();
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, handle] : running_) ids.push_back(id);
    }
    if (ids.empty()) return;
    queue_.keep_claimed(ids);
  }

  std::size_t in_flight() {
    std::lock_guard lock(mutex_);
    return running_.size();
  }
  std::size_t free_slots() {
    const std::size_t used = in_flight() + waiting_.size();
    return used >= static_cast<std::size_t>(cmd_.jobs) ? 0 : static_cast<std::size_t>(cmd_.jobs) - used;
  }
  bool idle() {
    std::lock_guard lock(mutex_);
    return running_.empty() && finished_.empty() && waiting_.empty() && unrecorded_.empty();
  }

  void start_waiting() {
    while (!waiting_.empty() && !stopping()) {
      start(waiting_.front());  // throws RedisUnavailable with the job still waiting
      waiting_.pop_front();
    }
  }

  void start(const queue::Job& job) {
    {
      std::lock_guard lock(mutex_);
      // Claimed back while we still run it (a fetch longer than --claim-after): one run is enough.
      if (running_.count(job.id) != 0) return;
    }
    if (!job.line) return complete_now(rejected_job(job.id, "invalid_request", "the stream entry has no 'job' field"));
    const BatchLineParse parsed = parse_batch_line(*job.line, Request{});
    if (parsed.kind == BatchLineKind::skip) {
      return complete_now(rejected_job(job.id, "invalid_request", "the job is a blank or comment line"));
    }
    if (parsed.kind == BatchLineKind::invalid) return complete_now(rejected_job(job.id, "invalid_request", parsed.error));
    const BatchJob& spec = parsed.job;
    const std::string name = output_name(job.id, spec);
    if (auto problem = make_parent_dirs(name)) return complete_now(rejected_job(job.id, "invalid_request", *problem));
    std::optional<OutputFile> file;
    try {
      file.emplace(OutputFile::create((std::filesystem::path(cmd_.output_dir) / name).string()));
    } catch (const std::exception& e) {
      return complete_now(rejected_job(job.id, "internal_error", e.what()));
    }
    {
      std::lock_guard lock(mutex_);
      running_.emplace(job.id, FetchHandle{});
    }
    FetchHandle handle = start_job_fetch(client_, finisher_, job.id, spec.request, std::move(*file),
                                         [this](JobResult result) { on_done(std::move(result)); });
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(job.id); it != running_.end()) it->second = handle;
  }

  // The file for a job, relative to --output-dir: the line's own `output`, else batch mode's
  // name from the URL, reserved in NAME:outputs (with `.1`, `.2` when taken) so two jobs never
  // share a file and a re-run of one job writes the same file again.
  std::string output_name(const std::string& id, const BatchJob& spec) {
    const std::filesystem::path dir(cmd_.output_dir);
    const std::string base = spec.output ? *spec.output : name_from_url(spec.request.url);
    bool skip_held = false;
    for (int tries = 0; tries < kMaxNameTries; ++tries) {
      const auto reserved = queue_.reserve_output(id, base, skip_held);
      std::error_code ec;
      // A fresh name held by anything from before (a file, a link) is not ours to replace.
      if (!reserved.fresh || std::filesystem::symlink_status(dir / reserved.name, ec).type() ==
                                 std::filesystem::file_type::not_found) {
        return reserved.name;
      }
      skip_held = true;
    }
    return fmt::format("{}.{}", base, id);
  }

  // Creates the directories of `name` under --output-dir one at a time, refusing a link on the
  // way: a link planted in the output directory must not carry a body out of it.
  std::optional<std::string> make_parent_dirs(const std::string& name) const {
    namespace fs = std::filesystem;
    fs::path at(cmd_.output_dir);
    for (const auto& part : fs::path(name).parent_path()) {
      at /= part;
      std::error_code ec;
      const auto type = fs::symlink_status(at, ec).type();
      if (type == fs::file_type::symlink) return fmt::format("output '{}' goes through a link ('{}')", name, at.string());
      if (type == fs::file_type::not_found) {
        if (!fs::create_directory(at, ec) && ec) return fmt::format("cannot create '{}': {}", at.string(), ec.message());
      } else if (type != fs::file_type::directory) {
        return fmt::format("output '{}': '{}' is not a directory", name, at.string());
      }
    }
    return std::nullopt;
  }

  void complete_now(JobResult result) {
    std::lock_guard lock(mutex_);
    finished_.push_back(std::move(result));
  }

  void on_done(JobResult result) {
    std::lock_guard lock(mutex_);
    running_.erase(result.id);
    // Cancelled (by our drain, or a transport shutting down): no result; the job stays pending
    // and another worker finishes it.
    if (result.report.outcome != FetchReport::Outcome::cancelled) {
      finished_.push_back(std::move(result));
    }
    cv_.notify_all();
  }

  void record_finished() {
    {
      std::lock_guard lock(mutex_);
      for (auto& r : finished_) unrecorded_.push_back(std::move(r));
      finished_.clear();
    }
    if (unrecorded_.empty()) return;
    std::vector<queue::Completion> completions;
    completions.reserve(unrecorded_.size());
    for (const JobResult& r : unrecorded_) completions.push_back({r.id, result_fields(r, cmd_.names.consumer)});
    const std::vector<bool> recorded = queue_.complete(completions);  // throws: kept for the next try
    for (std::size_t i = 0; i < unrecorded_.size(); ++i) {
      if (recorded[i] && cmd_.json) fmt::print("{}\n", result_json(unrecorded_[i], cmd_.names.consumer));
      if (cmd_.fetch.verbose) describe(unrecorded_[i], recorded[i]);
    }
    if (cmd_.json) std::fflush(stdout);
    std::lock_guard lock(mutex_);
    unrecorded_.clear();
  }

  // The -v line of a finished job.
  static void describe(const JobResult& j, bool recorded) {
    const FetchReport& r = j.report;
    say(fmt::format("job {}: {}{}{} in {}, {} attempt(s), {} bytes{}{}", j.id, outcome_name(r.outcome),
                    r.status ? fmt::format(", status {}", *r.status) : std::string{},
                    r.error_kind.empty() ? std::string{} : fmt::format(", {}: {}", r.error_kind, r.error_message),
                    human_duration(r.elapsed), r.attempts.size(), r.bytes,
                    j.output.empty() ? std::string{} : fmt::format(" -> {}", j.output),
                    recorded ? "" : " (not recorded: another worker recorded this job first)"));
  }

  void bury(const queue::Job& job) {
    const std::string error = fmt::format(
        "delivered {} times, more than --max-deliveries {}, without a result: each worker that took it died or "
        "lost Redis before recording it",
        job.deliveries, cmd_.max_deliveries);
    if (queue_.bury(job, error)) say(fmt::format("job {} moved to {}: {}", job.id, cmd_.names.dead(), error));
  }

  // Connects, retrying with backoff while Redis is away; kRunning once connected (or stopping).
  int reconnect() {
    milliseconds delay = kBackoffFirst;
    std::mt19937 random{std::random_device{}()};
    while (!stopping()) {
      try {
        queue_.connect();
        if (ever_connected_) say(fmt::format("reconnected to Redis at {}", cmd_.endpoint.describe()));
        ever_connected_ = true;
        next_claim_ = Clock::now();
        return kRunning;
      } catch (const queue::RedisRefused& e) {
        if (!ever_connected_) {
          say(e.what());
          return 2;
        }
        say(fmt::format("{}; retrying in {}", e.what(), human_duration(delay)));
      } catch (const std::runtime_error& e) {
        say(fmt::format("{}; retrying in {}", e.what(), human_duration(delay)));
      }
      // Jitter: workers that lost the same server do not all come back in the same millisecond.
      const auto wait = milliseconds{std::uniform_int_distribution<long long>(delay.count() / 2, delay.count())(random)};
      wait_for_event(wait);
      delay = std::min(delay * 2, kBackoffMax);
    }
    return kRunning;
  }

  void wait_for_event(milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return stop_ || !finished_.empty(); });
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stop_;
  }

  void on_signal(int signo) {
    std::lock_guard lock(mutex_);
    if (stop_) force_ = true;  // a second signal: do not wait for the drain
    stop_ = true;
    signal_ = signo;
    cv_.notify_all();
  }

  // Lets running fetches finish for up to --drain-timeout, cancels the rest (they stay pending),
  // records what finished, exits 130.
  int drain() {
    const auto deadline = Clock::now() + cmd_.drain_timeout;
    {
      std::lock_guard lock(mutex_);
      say(fmt::format("{}: draining {} job(s) for up to {}", signal_name(signal_), running_.size(),
                      human_duration(cmd_.drain_timeout)));
    }
    while (Clock::now() < deadline) {
      try_record(deadline);
      std::unique_lock lock(mutex_);
      if (running_.empty() && finished_.empty()) break;
      if (force_) break;
      cv_.wait_until(lock, std::min(deadline, Clock::now() + milliseconds{100}));
    }
    std::vector<FetchHandle> left;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, handle] : running_) left.push_back(handle);
    }
    if (!left.empty()) {
      say(fmt::format("cancelling {} job(s) still running; they stay pending for another worker", left.size()));
      for (const FetchHandle& h : left) h.cancel();
      std::unique_lock lock(mutex_);
      if (!cv_.wait_for(lock, kCancelGrace, [this] { return running_.empty(); })) {
        lock.unlock();
        say("cancelled fetches did not stop in time; exiting without waiting for them");
        std::_Exit(kExitCancelledCode);
      }
    }
    const auto final_deadline = Clock::now() + kFinalRecord;
    while (Clock::now() < final_deadline) {
      if (try_record(final_deadline)) break;
      wait_for_event(milliseconds{100});
    }
    return kExitCancelledCode;
  }

  // One attempt to record what finished, reconnecting once if needed. True when nothing is left.
  bool try_record(Clock::time_point deadline) {
    {
      std::lock_guard lock(mutex_);
      if (finished_.empty() && unrecorded_.empty()) return true;  // nothing to connect for
    }
    try {
      if (!queue_.connected() && Clock::now() < deadline) queue_.connect();
      record_finished();
    } catch (const std::runtime_error& e) {
      queue_.disconnect();
      if (!reported_drain_error_) say(fmt::format("{} (results not recorded stay pending)", e.what()));
      reported_drain_error_ = true;
      return false;
    }
    std::lock_guard lock(mutex_);
    return finished_.empty() && unrecorded_.empty();
  }

  static constexpr int kExitCancelledCode = 130;

  WorkerCommand cmd_;
  queue::JobQueue queue_;
  Client client_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::unordered_map<std::string, FetchHandle> running_;  // guarded
  std::vector<JobResult> finished_;                        // guarded
  bool stop_ = false;                                      // guarded
  bool force_ = false;                                     // guarded
  int signal_ = 0;                                         // guarded

  // Owned by the loop's thread.
  std::deque<queue::Job> waiting_;        // taken from Redis, not started yet
  std::vector<JobResult> unrecorded_;     // finished, recording not yet confirmed
  Clock::time_point next_claim_{};
  Clock::time_point next_heartbeat_{};
  bool ever_connected_ = false;
  bool reported_drain_error_ = false;

  // Flushes and renames finished bodies, off the transport's thread (see job_fetch.hpp); fsyncs
  // of several files overlap on the disk. Declared last, so it is joined first, while everything
  // its tasks touch still exists.
  ThreadPoolExecutor finisher_{kFinisherThreads};
};

}  // namespace

int run_worker_loop(WorkerCommand cmd) {
  WorkerLoop loop(std::move(cmd));
  return loop.run();
}

}  // namespace fetchpipe::cli
