#include "fetchpipe/queue/job_queue.hpp"

#include <fmt/format.h>

#include <string>

#include "scripts.hpp"

namespace fetchpipe::queue {
namespace {

std::string error_text(const redisReply* r) { return std::string(r->str, r->len); }

bool error_starts_with(const redisReply* r, std::string_view prefix) {
  return is_error(r) && std::string_view{r->str, r->len}.starts_with(prefix);
}

std::string count_text(std::size_t n) { return std::to_string(n); }

}  // namespace

JobQueue::JobQueue(RedisEndpoint endpoint, QueueNames names, JobQueueOptions options)
    : endpoint_(std::move(endpoint)), names_(std::move(names)), options_(options) {}

std::uint64_t JobQueue::commands_sent() const noexcept {
  return commands_before_ + (conn_ ? conn_->commands_sent() : 0);
}

RedisConnection& JobQueue::conn() {
  if (!conn_) throw RedisUnavailable(fmt::format("not connected to Redis at {}", endpoint_.describe()));
  return *conn_;
}

Reply JobQueue::call(const RedisConnection::Args& args) {
  try {
    return conn().command(args);
  } catch (const RedisUnavailable&) {
    commands_before_ += conn_ ? conn_->commands_sent() : 0;
    conn_.reset();
    throw;
  }
}

void JobQueue::connect() {
  if (conn_) commands_before_ += conn_->commands_sent();
  conn_.reset();
  conn_.emplace(RedisConnection::open(endpoint_, options_.connect));
  // Script caches do not survive a server restart: load them on every connection.
  const auto load = [this](const char* body) {
    const Reply reply = call({"SCRIPT", "LOAD", body});
    return std::string(text_of(reply.get(), "SCRIPT LOAD"));
  };
  ack_sha_ = load(scripts::kAckAndRecord);
  reserve_sha_ = load(scripts::kReserveOutput);
  create_group();
}

void JobQueue::create_group() {
  const Reply reply = call({"XGROUP", "CREATE", names_.stream, names_.group, "0", "MKSTREAM"});
  if (is_error(reply.get()) && !error_starts_with(reply.get(), "BUSYGROUP")) {
    throw RedisRefused(fmt::format("cannot create group '{}' on stream '{}': {}", names_.group, names_.stream,
                                   error_text(reply.get())));
  }
}

std::vector<Job> JobQueue::parse_entries(const redisReply* entries) {
  std::vector<Job> jobs;
  const std::size_t n = size_of(entries, "stream entries");
  jobs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const redisReply* entry = element(entries, i, "stream entry");
    // XAUTOCLAIM on Redis 6.2 gives nil for an entry deleted while pending; 7.0 lists those apart.
    if (is_nil(entry)) continue;
    Job job;
    job.id = std::string(text_of(element(entry, 0, "entry id"), "entry id"));
    const redisReply* fields = element(entry, 1, "entry fields");
    if (!is_nil(fields)) {
      const std::size_t m = size_of(fields, "entry fields");
      for (std::size_t f = 0; f + 1 < m; f += 2) {
        if (text_of(fields->element[f], "field name") == "job") {
          job.line = std::string(text_of(fields->element[f + 1], "field value"));
          break;
        }
      }
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

std::vector<Job> JobQueue::read_new(std::size_t count, std::chrono::milliseconds block) {
  // The socket timeout must outlast the server-side block, or a quiet stream looks like a dead server.
  conn().set_timeout(conn().default_timeout() + block);
  const Reply reply = call({"XREADGROUP", "GROUP", names_.group, names_.consumer, "COUNT", count_text(count), "BLOCK",
                            std::to_string(block.count()), "STREAMS", names_.stream, ">"});
  if (conn_) conn_->set_timeout(conn_->default_timeout());
  if (error_starts_with(reply.get(), "NOGROUP")) {
    // The stream or the group was deleted under us (or Redis restarted without its data).
    create_group();
    return {};
  }
  if (is_error(reply.get())) throw RedisReplyError(fmt::format("XREADGROUP: {}", error_text(reply.get())));
  if (is_nil(reply.get())) return {};
  const redisReply* stream = element(reply.get(), 0, "XREADGROUP");
  return parse_entries(element(stream, 1, "XREADGROUP entries"));
}

Claimed JobQueue::claim_stale(std::size_t count) {
  Claimed claimed;
  const Reply reply = call({"XAUTOCLAIM", names_.stream, names_.group, names_.consumer,
                            std::to_string(options_.claim_after.count()), claim_cursor_, "COUNT", count_text(count)});
  if (error_starts_with(reply.get(), "NOGROUP")) {
    create_group();
    return claimed;
  }
  if (is_error(reply.get())) throw RedisReplyError(fmt::format("XAUTOCLAIM: {}", error_text(reply.get())));
  claim_cursor_ = std::string(text_of(element(reply.get(), 0, "XAUTOCLAIM cursor"), "XAUTOCLAIM cursor"));
  std::vector<Job> jobs = parse_entries(element(reply.get(), 1, "XAUTOCLAIM entries"));
  if (jobs.empty()) return claimed;

  // The delivery counts (XAUTOCLAIM has just added one) decide which claimed jobs are poison.
  // COUNT leaves room for the jobs this consumer already runs inside the same id range.
  const Reply pending = call({"XPENDING", names_.stream, names_.group, jobs.front().id, jobs.back().id,
                              count_text(jobs.size() + 10000), names_.consumer});
  const std::size_t n = size_of(pending.get(), "XPENDING");
  for (Job& job : jobs) {
    for (std::size_t i = 0; i < n; ++i) {
      const redisReply* row = element(pending.get(), i, "XPENDING row");
      if (text_of(element(row, 0, "XPENDING id"), "XPENDING id") == job.id) {
        job.deliveries = integer_of(element(row, 3, "XPENDING deliveries"), "XPENDING deliveries");
        break;
      }
    }
    (job.deliveries > options_.max_deliveries ? claimed.poison : claimed.jobs).push_back(std::move(job));
  }
  return claimed;
}

Reply JobQueue::run_script(const std::string& sha, const std::string& body, const RedisConnection::Args& keys_and_args) {
  RedisConnection::Args args{"EVALSHA", sha};
  args.insert(args.end(), keys_and_args.begin(), keys_and_args.end());
  Reply reply = call(args);
  if (error_starts_with(reply.get(), "NOSCRIPT")) {
    // Someone ran SCRIPT FLUSH: send the body instead.
    args[0] = "EVAL";
    args[1] = body;
    reply = call(args);
  }
  return reply;
}

std::vector<bool> JobQueue::complete(const std::vector<Completion>& completions) {
  std::vector<bool> recorded;
  if (completions.empty()) return recorded;
  const std::string results = names_.results();
  std::vector<RedisConnection::Args> all;
  all.reserve(completions.size());
  for (const Completion& c : completions) {
    RedisConnection::Args args{"EVALSHA", ack_sha_, "2", names_.stream, results, names_.group, c.id};
    for (const auto& [name, value] : c.fields) {
      args.emplace_back(name);
      args.emplace_back(value);
    }
    all.push_back(std::move(args));
  }
  // One round trip for the whole batch: a worker finishing 16 jobs at once pays one RTT, not 16.
  try {
    for (const auto& args : all) conn().append(args);
    std::vector<std::size_t> unknown_script;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const Reply reply = conn().read_reply();
      if (error_starts_with(reply.get(), "NOSCRIPT")) {
        unknown_script.push_back(i);  // resent below, once every pipelined reply is read
        recorded.push_back(false);
        continue;
      }
      recorded.push_back(integer_of(reply.get(), "recording a result") == 1);
    }
    for (const std::size_t i : unknown_script) {
      all[i][0] = "EVAL";
      all[i][1] = scripts::kAckAndRecord;
      const Reply reply = conn().command(all[i]);
      recorded[i] = integer_of(reply.get(), "recording a result") == 1;
    }
  } catch (const RedisUnavailable&) {
    commands_before_ += conn_ ? conn_->commands_sent() : 0;
    conn_.reset();
    throw;
  }
  return recorded;
}

bool JobQueue::bury(const Job& job, std::string_view error) {
  const std::string deliveries = std::to_string(job.deliveries);
  const Reply reply = run_script(ack_sha_, scripts::kAckAndRecord,
                                 {"2", names_.stream, names_.dead(), names_.group, job.id, "id", job.id, "job",
                                  job.line ? std::string_view{*job.line} : std::string_view{}, "error", error,
                                  "deliveries", deliveries, "consumer", names_.consumer});
  return integer_of(reply.get(), "moving a job to the dead stream") == 1;
}

void JobQueue::keep_claimed(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  RedisConnection::Args args{"XCLAIM", names_.stream, names_.group, names_.consumer, "0"};
  for (const std::string& id : ids) args.emplace_back(id);
  args.emplace_back("JUSTID");
  const Reply reply = call(args);
  if (is_error(reply.get()) && !error_starts_with(reply.get(), "NOGROUP")) {
    throw RedisReplyError(fmt::format("XCLAIM: {}", error_text(reply.get())));
  }
}

std::int64_t JobQueue::pending_count() {
  const Reply reply = call({"XPENDING", names_.stream, names_.group});
  if (error_starts_with(reply.get(), "NOGROUP")) {
    create_group();
    return 0;
  }
  return integer_of(element(reply.get(), 0, "XPENDING summary"), "XPENDING count");
}

JobQueue::OutputName JobQueue::reserve_output(std::string_view id, std::string_view base, bool skip_held) {
  const Reply reply =
      run_script(reserve_sha_, scripts::kReserveOutput, {"1", names_.outputs(), id, base, skip_held ? "1" : "0"});
  if (is_error(reply.get())) throw RedisReplyError(fmt::format("reserving an output name: {}", error_text(reply.get())));
  return OutputName{std::string(text_of(element(reply.get(), 0, "output name"), "output name")),
                    integer_of(element(reply.get(), 1, "output name state"), "output name state") == 1};
}

std::size_t add_jobs(RedisConnection& conn, const std::string& stream, const std::vector<std::string>& lines,
                     std::size_t chunk) {
  std::size_t added = 0;
  try {
    for (std::size_t start = 0; start < lines.size(); start += chunk) {
      const std::size_t end = std::min(lines.size(), start + chunk);
      conn.append({"MULTI"});
      for (std::size_t i = start; i < end; ++i) conn.append({"XADD", stream, "*", "job", lines[i]});
      conn.append({"EXEC"});
      for (std::size_t i = start; i < end + 2; ++i) {
        const Reply reply = conn.read_reply();
        // EXEC answers with one reply per queued XADD: an XADD refused there (the key holds
        // another type) is an error inside that array, not an error reply of its own.
        const redisReply* failed = is_error(reply.get()) ? reply.get() : nullptr;
        if (i == end + 1 && !failed && reply->type == REDIS_REPLY_ARRAY) {
          for (std::size_t k = 0; k < reply->elements && !failed; ++k) {
            if (is_error(reply->element[k])) failed = reply->element[k];
          }
        }
        if (failed != nullptr) {
          throw RedisReplyError(fmt::format("adding jobs to '{}': {} ({} added before)", stream, error_text(failed),
                                            added));
        }
      }
      added = end;
    }
  } catch (const RedisUnavailable& e) {
    throw RedisUnavailable(fmt::format("{} ({} of {} jobs had been added)", e.what(), added, lines.size()));
  }
  return added;
}

}  // namespace fetchpipe::queue
