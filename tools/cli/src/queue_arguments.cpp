#include "queue_arguments.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>

#include <fetchpipe/policies/timeouts.hpp>

#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// Flags of `get` the worker accepts and hands on to parse_get: those that take a value, and
// those that do not.
constexpr std::array kFetchValueFlags = {
    "--transport",  "--max-attempts",    "--backoff-initial", "--backoff-max",   "--backoff-multiplier",
    "--jitter",     "--timeout",         "--attempt-timeout", "--connect-timeout", "--stall-timeout",
    "--retry-on",   "--retry-after-max", "--max-redirects",   "--max-body-size", "--cacert",
    "--retry-budget", "--hedge",         "--hedge-max",       "--circuit-breaker", "--rate"};
constexpr std::array kFetchSwitches = {"--retry-non-idempotent", "--no-retry-after", "--no-retry-budget", "-v",
                                       "--verbose"};

bool listed(const auto& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// One token split into a flag name and the value attached with '=' (or after a short flag).
struct Token {
  std::string_view name;  // empty for a positional argument
  std::optional<std::string_view> attached;
  std::string_view text;
};

class Tokens {
 public:
  explicit Tokens(Args args) : args_(args) {}
  [[nodiscard]] bool done() const { return pos_ >= args_.size(); }

  Token next() {
    const std::string_view t = args_[pos_++];
    if (!ended_ && t == "--") {
      ended_ = true;
      return Token{"", std::nullopt, ""};
    }
    if (ended_ || t.size() < 2 || t[0] != '-') return Token{"", std::nullopt, t};
    if (t.starts_with("--")) {
      const auto eq = t.find('=');
      if (eq == std::string_view::npos) return Token{t, std::nullopt, t};
      return Token{t.substr(0, eq), t.substr(eq + 1), t};
    }
    if (t.size() > 2) return Token{t.substr(0, 2), t.substr(2), t};
    return Token{t, std::nullopt, t};
  }

  std::string_view value(const Token& token) {
    if (token.attached) return *token.attached;
    if (done() || (args_[pos_].size() > 2 && args_[pos_].starts_with("--"))) {
      throw UsageError(fmt::format("{}: missing value", token.name));
    }
    return args_[pos_++];
  }

 private:
  Args args_;
  std::size_t pos_ = 0;
  bool ended_ = false;
};

void no_value(const Token& token) {
  if (token.attached) throw UsageError(fmt::format("{}: takes no value, got '{}'", token.name, *token.attached));
}

long long whole(std::string_view flag, std::string_view text, long long min, long long max) {
  long long value = 0;
  const auto* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc{} || end != last) {
    throw UsageError(fmt::format("{}: not a whole number, got '{}'", flag, text));
  }
  if (value < min || value > max) {
    throw UsageError(max == LLONG_MAX ? fmt::format("{}: must be >= {}, got '{}'", flag, min, text)
                                      : fmt::format("{}: must be {}..{}, got '{}'", flag, min, max, text));
  }
  return value;
}

std::chrono::milliseconds duration_ms(std::string_view flag, std::string_view text) {
  const auto d = parse_duration(text);
  if (!d) throw UsageError(fmt::format("{}: not a duration (a number with ms, s or m, e.g. 250ms, 1.5s, 2m), got '{}'", flag, text));
  if (*d <= std::chrono::nanoseconds::zero()) throw UsageError(fmt::format("{}: must be > 0, got '{}'", flag, text));
  // A day is "forever" for a claim or a drain, and keeps the millisecond counts far from overflow.
  return std::chrono::ceil<std::chrono::milliseconds>(std::min<std::chrono::nanoseconds>(*d, std::chrono::hours{24}));
}

// A stream, group or consumer name: any bytes Redis accepts, but printable and on one line, so it
// can be quoted in a message and typed in redis-cli.
std::string name_value(std::string_view flag, std::string_view text) {
  if (text.empty()) throw UsageError(fmt::format("{}: empty name", flag));
  if (text.size() > 200) throw UsageError(fmt::format("{}: longer than 200 bytes, got '{}...'", flag, printable(text.substr(0, 40))));
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    throw UsageError(fmt::format("{}: no spaces or control characters allowed, got '{}'", flag, printable(text)));
  }
  return std::string(text);
}

queue::RedisEndpoint redis_value(std::string_view text) {
  auto parsed = queue::parse_redis_url(text);
  if (parsed.error) throw UsageError(fmt::format("--redis: {}", *parsed.error));
  return std::move(*parsed.endpoint);
}

std::string default_consumer() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') return fmt::format("worker-{}", ::getpid());
  return fmt::format("{}-{}", host.data(), ::getpid());
}

void require(bool given, std::string_view flag, std::string_view command) {
  if (!given) throw UsageError(fmt::format("{}: missing (see fetchpipe {} --help)", flag, command));
}

}  // namespace

EnqueueCommand parse_enqueue(Args args) {
  EnqueueCommand cmd;
  bool redis_given = false;
  Tokens tokens(args);
  while (!tokens.done()) {
    const Token t = tokens.next();
    if (t.name == "--redis") {
      cmd.endpoint = redis_value(tokens.value(t));
      redis_given = true;
    } else if (t.name == "--stream") {
      cmd.stream = name_value("--stream", tokens.value(t));
    } else if (t.name == "-i" || t.name == "--input-file") {
      const auto v = tokens.value(t);
      if (v.empty()) throw UsageError("-i: empty file name");
      cmd.input_file = std::string(v);
    } else if (t.name == "-h" || t.name == "--help") {
      cmd.help = true;
      return cmd;
    } else if (t.name.empty()) {
      if (!t.text.empty()) cmd.urls.emplace_back(t.text);
    } else {
      throw UsageError(fmt::format("unknown option '{}' (see fetchpipe enqueue --help)", t.name));
    }
  }
  require(redis_given, "--redis", "enqueue");
  require(!cmd.stream.empty(), "--stream", "enqueue");
  if (cmd.input_file && !cmd.urls.empty()) throw UsageError("-i: cannot be combined with URL arguments");
  if (!cmd.input_file && cmd.urls.empty()) throw UsageError("nothing to enqueue: give -i FILE or URLs");
  return cmd;
}

WorkerCommand parse_worker(Args args) {
  WorkerCommand cmd;
  bool redis_given = false;
  std::vector<std::string_view> fetch_args;
  Tokens tokens(args);
  while (!tokens.done()) {
    const Token t = tokens.next();
    if (t.name == "--redis") {
      cmd.endpoint = redis_value(tokens.value(t));
      redis_given = true;
    } else if (t.name == "--stream") {
      cmd.names.stream = name_value("--stream", tokens.value(t));
    } else if (t.name == "--group") {
      cmd.names.group = name_value("--group", tokens.value(t));
    } else if (t.name == "--consumer") {
      cmd.names.consumer = name_value("--consumer", tokens.value(t));
    } else if (t.name == "-j" || t.name == "--jobs") {
      cmd.jobs = static_cast<int>(whole("-j", tokens.value(t), 1, 10000));
    } else if (t.name == "--max-per-host") {
      cmd.max_per_host = static_cast<int>(whole("--max-per-host", tokens.value(t), 1, INT_MAX));
    } else if (t.name == "--output-dir") {
      const auto v = tokens.value(t);
      if (v.empty()) throw UsageError("--output-dir: empty directory name");
      cmd.output_dir = std::string(v);
    } else if (t.name == "--claim-after") {
      cmd.claim_after = duration_ms("--claim-after", tokens.value(t));
    } else if (t.name == "--max-deliveries") {
      cmd.max_deliveries = whole("--max-deliveries", tokens.value(t), 1, 1000000);
    } else if (t.name == "--drain-timeout") {
      cmd.drain_timeout = duration_ms("--drain-timeout", tokens.value(t));
    } else if (t.name == "--json") {
      no_value(t);
      cmd.json = true;
    } else if (t.name == "--exit-when-empty") {
      no_value(t);
      cmd.exit_when_empty = true;
    } else if (t.name == "-h" || t.name == "--help") {
      cmd.help = true;
      return cmd;
    } else if (listed(kFetchSwitches, t.name)) {
      fetch_args.push_back(t.text);
    } else if (listed(kFetchValueFlags, t.name)) {
      fetch_args.push_back(t.text);
      if (!t.attached) fetch_args.push_back(tokens.value(t));
    } else if (t.name.empty()) {
      if (!t.text.empty()) throw UsageError(fmt::format("worker: unexpected argument '{}' (jobs come from the stream)", printable(t.text)));
    } else {
      throw UsageError(fmt::format("unknown option '{}' (see fetchpipe worker --help)", t.name));
    }
  }
  require(redis_given, "--redis", "worker");
  require(!cmd.names.stream.empty(), "--stream", "worker");
  if (cmd.names.consumer.empty()) cmd.names.consumer = default_consumer();
  fetch_args.emplace_back("http://127.0.0.1/");  // placeholder: each job brings its own URL
  GetParse fetch = parse_get(fetch_args);
  if (fetch.error) throw UsageError(*fetch.error);
  cmd.fetch = std::move(fetch.command);
  return cmd;
}

}  // namespace fetchpipe::cli
