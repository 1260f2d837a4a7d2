#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace fetchpipe::test {
namespace {

std::string find_redis_server() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/usr/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / "redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  throw std::runtime_error("redis-server not found on PATH (./dev installs Debian's redis-server)");
}

}  // namespace

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  std::string templ = (std::filesystem::temp_directory_path() / "fetchpipe-redis-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  port_ = free_loopback_port();
  start();
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url() const {
  return options_.password.empty() ? "redis://127.0.0.1:" + std::to_string(port_)
                                   : "redis://:" + options_.password + "@127.0.0.1:" + std::to_string(port_);
}

void RedisServer::start() {
  // Under `timeout`, which passes our SIGTERM on: if this test process dies without stopping
  // the server (a crash), the server still goes away within the hour instead of living on.
  std::vector<std::string> argv{"/usr/bin/timeout", "-s", "KILL", "3600", find_redis_server(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                "--dir", dir_, "--save", "", "--appendonly", "yes", "--logfile",
                                dir_ + "/redis.log", "--daemonize", "no"};
  if (!options_.password.empty()) {
    argv.emplace_back("--requirepass");
    argv.push_back(options_.password);
  }
  process_ = std::make_unique<ChildProcess>(argv);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      (void)connect();
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});  // polling for readiness, bounded
  }
  throw std::runtime_error("redis-server did not come up within 20 s: " + last_error);
}

void RedisServer::stop() {
  if (!process_) return;
  process_->send_signal(SIGTERM);
  (void)process_->wait(std::chrono::seconds{20});  // kills it if it overruns
  process_.reset();
}

queue::RedisConnection RedisServer::connect() const {
  queue::RedisEndpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port_;
  if (!options_.password.empty()) ep.password = options_.password;
  return queue::RedisConnection::open(ep, {.connect_timeout = std::chrono::milliseconds{2000},
                                           .command_timeout = std::chrono::milliseconds{20000}});
}

std::vector<StreamEntry> read_stream(queue::RedisConnection& conn, const std::string& key) {
  std::vector<StreamEntry> out;
  const queue::Reply reply = conn.command({"XRANGE", key, "-", "+"});
  const std::size_t n = queue::size_of(reply.get(), "XRANGE");
  for (std::size_t i = 0; i < n; ++i) {
    const redisReply* entry = reply->element[i];
    StreamEntry e;
    e.id = std::string(queue::text_of(entry->element[0], "id"));
    const redisReply* fields = entry->element[1];
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      e.fields[std::string(queue::text_of(fields->element[f], "field"))] =
          std::string(queue::text_of(fields->element[f + 1], "value"));
    }
    out.push_back(std::move(e));
  }
  return out;
}

long long integer_command(queue::RedisConnection& conn, const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  const queue::Reply reply = conn.command(views);
  return queue::integer_of(reply.get(), args.front());
}

}  // namespace fetchpipe::test
