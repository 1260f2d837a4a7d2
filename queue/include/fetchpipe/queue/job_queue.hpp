// job_queue.hpp — a job queue on one Redis stream with a consumer group.
//
// Names, for a stream NAME: jobs are entries of NAME (field `job`), results go to NAME:results,
// poison jobs to NAME:dead, and output file names are reserved in the hash NAME:outputs.
//
// Exactly-once results on an at-least-once queue: complete() runs one server-side script that
// acknowledges the job and appends its result only if that acknowledgement removed the job from
// the group's pending list. Two workers that both ran a job (the first was presumed dead and its
// job claimed) race on XACK; Redis runs scripts one at a time, so exactly one of them records.
//
//   JobQueue q(endpoint, {.stream = "crawl", .group = "fetchpipe", .consumer = "host-42"}, {});
//   q.connect();                          // throws RedisUnavailable / RedisRefused
//   for (auto& job : q.read_new(16, 1s)) { ... q.complete({{job.id, fields}}); }
//
// A JobQueue is used from one thread. Every method that talks to Redis throws RedisUnavailable
// when the connection is lost; the connection is then dropped and connect() must be called again.
// Nothing is lost by that: a job stays pending until a complete() or bury() took effect, and
// both are safe to repeat (the second XACK removes nothing, so nothing is recorded twice).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fetchpipe/queue/redis_connection.hpp"

namespace fetchpipe::queue {

struct QueueNames {
  std::string stream;
  std::string group = "fetchpipe";
  std::string consumer;

  [[nodiscard]] std::string results() const { return stream + ":results"; }
  [[nodiscard]] std::string dead() const { return stream + ":dead"; }
  [[nodiscard]] std::string outputs() const { return stream + ":outputs"; }
};

struct JobQueueOptions {
  ConnectOptions connect{};
  // A pending entry idle this long belongs to a worker presumed dead and may be claimed.
  std::chrono::milliseconds claim_after{60000};
  // A job delivered more often than this goes to NAME:dead instead of running again.
  std::int64_t max_deliveries = 5;
};

struct Job {
  std::string id;                    // the stream entry id, "1700000000000-0"
  std::optional<std::string> line;   // field `job`; nullopt when the entry has none
  std::int64_t deliveries = 1;       // 1 for a first delivery; from XPENDING for a claimed job
};

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Completion {
  std::string id;
  Fields fields;  // appended to NAME:results as they are
};

struct Claimed {
  std::vector<Job> jobs;    // to run
  std::vector<Job> poison;  // delivered more than max_deliveries times: bury them
};

class JobQueue {
 public:
  JobQueue(RedisEndpoint endpoint, QueueNames names, JobQueueOptions options);

  // (Re)connects, loads the scripts and creates the group (from id 0, with the stream) if it is
  // missing. Throws RedisUnavailable (try again later) or RedisRefused (configuration).
  void connect();
  [[nodiscard]] bool connected() const noexcept { return conn_.has_value(); }
  void disconnect() noexcept { conn_.reset(); }

  // Up to `count` entries never delivered to this group, waiting at most `block` for one.
  std::vector<Job> read_new(std::size_t count, std::chrono::milliseconds block);
  // Up to `count` entries pending longer than claim_after, now owned by this consumer. Walks the
  // pending list with XAUTOCLAIM's cursor across calls.
  Claimed claim_stale(std::size_t count);
  // Acknowledges each job and records its result if that acknowledgement removed it. One
  // pipelined round trip for all; returns, per completion, whether this call recorded it.
  std::vector<bool> complete(const std::vector<Completion>& completions);
  // Moves a job to NAME:dead (fields id, job, error, deliveries, consumer) and acknowledges it,
  // atomically, if it is still pending. True if this call moved it.
  bool bury(const Job& job, std::string_view error);
  // Resets the idle time of jobs this consumer is running (XCLAIM ... JUSTID, which does not
  // count a delivery), so a long fetch is not mistaken for an abandoned one.
  void keep_claimed(const std::vector<std::string>& ids);
  // Entries of the group delivered and not yet acknowledged (by any consumer).
  std::int64_t pending_count();
  // The output file name of job `id`: `base`, or `base.N` when taken, reserved in NAME:outputs
  // for this job alone. A re-delivered job gets the name it had. `fresh` is false in that case.
  // `skip_held`: the name held so far is taken on disk by a file from before; find another.
  struct OutputName {
    std::string name;
    bool fresh = true;
  };
  OutputName reserve_output(std::string_view id, std::string_view base, bool skip_held = false);

  [[nodiscard]] const QueueNames& names() const noexcept { return names_; }
  [[nodiscard]] const RedisEndpoint& endpoint() const noexcept { return endpoint_; }
  // Commands sent over every connection so far.
  [[nodiscard]] std::uint64_t commands_sent() const noexcept;

 private:
  RedisConnection& conn();
  // Runs a command; a lost connection is dropped before the exception leaves.
  Reply call(const RedisConnection::Args& args);
  Reply run_script(const std::string& sha, const std::string& body, const RedisConnection::Args& keys_and_args);
  void create_group();
  std::vector<Job> parse_entries(const redisReply* entries);

  RedisEndpoint endpoint_;
  QueueNames names_;
  JobQueueOptions options_;
  std::optional<RedisConnection> conn_;
  std::string ack_sha_;
  std::string reserve_sha_;
  std::string claim_cursor_ = "0-0";
  std::uint64_t commands_before_ = 0;  // sent over connections already closed
};

// Adds one entry (field `job`) per line to `stream`, in MULTI/EXEC blocks of `chunk` lines, so a
// lost connection leaves whole blocks only. Returns the number added; on RedisUnavailable the
// exception's message says how many had been added before.
std::size_t add_jobs(RedisConnection& conn, const std::string& stream, const std::vector<std::string>& lines,
                     std::size_t chunk = 1000);

}  // namespace fetchpipe::queue
