#include "fetchpipe/queue/redis_connection.hpp"

#include <fmt/format.h>
#include <sys/time.h>

#include <string>
#include <utility>

namespace fetchpipe::queue {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string context_error(const redisContext* c) {
  if (c == nullptr) return "out of memory";
  std::string message = c->errstr;
  if (message.empty()) message = fmt::format("error {}", c->err);
  // hiredis reports a read timeout as "Resource temporarily unavailable".
  if (c->err == REDIS_ERR_IO && message == "Resource temporarily unavailable") message = "timed out";
  return message;
}

}  // namespace

bool is_error(const redisReply* r) noexcept { return r != nullptr && r->type == REDIS_REPLY_ERROR; }
bool is_nil(const redisReply* r) noexcept { return r == nullptr || r->type == REDIS_REPLY_NIL; }

std::string_view text_of(const redisReply* r, std::string_view what) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR)) {
    throw RedisReplyError(fmt::format("{}: expected a string reply, got type {}", what, r ? r->type : -1));
  }
  return {r->str, r->len};
}

long long integer_of(const redisReply* r, std::string_view what) {
  if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
    if (is_error(r)) throw RedisReplyError(fmt::format("{}: {}", what, std::string_view{r->str, r->len}));
    throw RedisReplyError(fmt::format("{}: expected an integer reply, got type {}", what, r ? r->type : -1));
  }
  return r->integer;
}

std::size_t size_of(const redisReply* r, std::string_view what) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) {
    if (is_error(r)) throw RedisReplyError(fmt::format("{}: {}", what, std::string_view{r->str, r->len}));
    throw RedisReplyError(fmt::format("{}: expected an array reply, got type {}", what, r ? r->type : -1));
  }
  return r->elements;
}

const redisReply* element(const redisReply* r, std::size_t i, std::string_view what) {
  if (i >= size_of(r, what)) throw RedisReplyError(fmt::format("{}: reply has no element {}", what, i));
  return r->element[i];
}

RedisConnection::RedisConnection(redisContext* context, RedisEndpoint endpoint, ConnectOptions options)
    : context_(context), endpoint_(std::move(endpoint)), options_(options) {}

RedisConnection::RedisConnection(RedisConnection&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)),
      endpoint_(std::move(other.endpoint_)),
      options_(other.options_),
      commands_sent_(other.commands_sent_) {}

RedisConnection& RedisConnection::operator=(RedisConnection&& other) noexcept {
  if (this != &other) {
    if (context_ != nullptr) redisFree(context_);
    context_ = std::exchange(other.context_, nullptr);
    endpoint_ = std::move(other.endpoint_);
    options_ = other.options_;
    commands_sent_ = other.commands_sent_;
  }
  return *this;
}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

RedisConnection RedisConnection::open(const RedisEndpoint& endpoint, const ConnectOptions& options) {
  redisContext* raw = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(options.connect_timeout));
  if (raw == nullptr || raw->err != 0) {
    const std::string why = context_error(raw);
    if (raw != nullptr) redisFree(raw);
    throw RedisUnavailable(fmt::format("cannot connect to Redis at {}: {}", endpoint.describe(), why));
  }
  RedisConnection conn(raw, endpoint, options);
  conn.set_timeout(options.command_timeout);
  if (endpoint.password) {
    Args auth{"AUTH"};
    if (endpoint.username) auth.emplace_back(*endpoint.username);
    auth.emplace_back(*endpoint.password);
    const Reply reply = conn.command(auth);
    if (is_error(reply.get())) {
      throw RedisRefused(fmt::format("Redis at {} refused the credentials of --redis: {}", endpoint.describe(),
                                     std::string_view{reply->str, reply->len}));
    }
  }
  if (endpoint.db != 0) {
    const std::string db = std::to_string(endpoint.db);
    const Reply reply = conn.command({"SELECT", db});
    if (is_error(reply.get())) {
      throw RedisRefused(fmt::format("Redis at {} refused database {}: {}", endpoint.describe(), endpoint.db,
                                     std::string_view{reply->str, reply->len}));
    }
  }
  // PING tells a server that wants a password we lack (NOAUTH) and one still loading its data
  // after a restart (LOADING: come back later) from a usable one.
  const Reply pong = conn.command({"PING"});
  if (is_error(pong.get())) {
    const std::string_view text{pong->str, pong->len};
    if (text.starts_with("LOADING") || text.starts_with("BUSY")) {
      throw RedisUnavailable(fmt::format("Redis at {} is not ready: {}", endpoint.describe(), text));
    }
    throw RedisRefused(fmt::format("Redis at {} refused us: {}{}", endpoint.describe(), text,
                                   text.starts_with("NOAUTH") ? " (give the password in --redis as redis://:PASSWORD@host)" : ""));
  }
  return conn;
}

void RedisConnection::lost(std::string_view during) {
  const std::string why = context_error(context_);
  throw RedisUnavailable(fmt::format("lost Redis at {} ({}): {}", endpoint_.describe(), during, why));
}

void RedisConnection::append(const Args& args) {
  if (context_ == nullptr || context_->err != 0) lost("sending");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto arg : args) {
    argv.push_back(arg.data());
    lens.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
    lost("sending");
  }
  ++commands_sent_;
}

Reply RedisConnection::read_reply() {
  if (context_ == nullptr || context_->err != 0) lost("reading");
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) lost("reading");
  return Reply(static_cast<redisReply*>(raw));
}

Reply RedisConnection::command(const Args& args) {
  append(args);
  return read_reply();
}

void RedisConnection::set_timeout(std::chrono::milliseconds timeout) {
  if (context_ != nullptr) redisSetTimeout(context_, to_timeval(timeout));
}

}  // namespace fetchpipe::queue
