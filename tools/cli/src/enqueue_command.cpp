// `fetchpipe enqueue --redis URL --stream NAME (-i FILE | URL...)`: jobs into a Redis stream.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include <fetchpipe/queue/job_queue.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "batch_line.hpp"
#include "queue_arguments.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// The job lines of the input, each checked; throws UsageError naming the first bad line.
std::vector<std::string> read_jobs(std::istream& in, std::string_view source) {
  std::vector<std::string> jobs;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const BatchLineParse parsed = parse_batch_line(line, Request{});
    if (parsed.kind == BatchLineKind::skip) continue;
    if (parsed.kind == BatchLineKind::invalid) {
      throw UsageError(fmt::format("{}: line {}: {}", source, number, printable(parsed.error)));
    }
    jobs.push_back(std::move(line));
  }
  if (in.bad()) throw UsageError(fmt::format("{}: read error", source));
  return jobs;
}

std::vector<std::string> input_jobs(const EnqueueCommand& cmd) {
  if (!cmd.input_file) {
    for (const std::string& url : cmd.urls) {
      const BatchLineParse parsed = parse_batch_line(url, Request{});
      if (parsed.kind != BatchLineKind::job) {
        throw UsageError(fmt::format("URL '{}': {}", printable(url), parsed.kind == BatchLineKind::skip ? "not a job" : parsed.error));
      }
    }
    return cmd.urls;
  }
  if (*cmd.input_file == "-") return read_jobs(std::cin, "-i -");
  std::ifstream in(*cmd.input_file, std::ios::binary);
  if (!in) throw UsageError(fmt::format("-i: cannot read '{}': {}", printable(*cmd.input_file), std::strerror(errno)));
  return read_jobs(in, fmt::format("-i {}", printable(*cmd.input_file)));
}

}  // namespace

int run_enqueue(Args args) {
  const EnqueueCommand cmd = parse_enqueue(args);
  if (cmd.help) {
    fmt::print("{}", kEnqueueHelp);
    return kExitSuccess;
  }
  const std::vector<std::string> jobs = input_jobs(cmd);
  try {
    queue::RedisConnection conn = queue::RedisConnection::open(cmd.endpoint, {});
    const std::size_t added = queue::add_jobs(conn, cmd.stream, jobs);
    fmt::print("{}\n", added);
    return kExitSuccess;
  } catch (const queue::RedisRefused& e) {
    fmt::print(stderr, "fetchpipe: enqueue: {}\n", printable(e.what()));
    return kExitUsage;
  } catch (const queue::RedisReplyError& e) {  // the stream's key holds another type, say
    fmt::print(stderr, "fetchpipe: enqueue: {}\n", printable(e.what()));
    return kExitUsage;
  } catch (const std::runtime_error& e) {
    fmt::print(stderr, "fetchpipe: enqueue: {}\n", printable(e.what()));
    return kExitTransport;
  }
}

}  // namespace fetchpipe::cli
