#include "arguments.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <fetchpipe/policies/timeouts.hpp>
#include <fetchpipe/url.hpp>

#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// Longer durations are clamped: a deadline is `now + duration`, and parse_duration accepts values
// up to ~292 years, which would overflow steady_clock arithmetic. Ten years is "forever" for a fetch.
constexpr std::chrono::nanoseconds kMaxDuration = std::chrono::hours{24 * 3650};

constexpr std::string_view kDurationForm = "a number with ms, s or m, e.g. 250ms, 1.5s, 2m";

// Walks the arguments of one command. Knows the lexical forms, not the flags.
class ArgReader {
 public:
  struct Item {
    std::string_view name;                     // "--timeout", "-X"; empty for a positional
    std::optional<std::string_view> attached;  // "--timeout=5s" / "-XPOST"
    std::string_view text;                     // the token as given
  };

  explicit ArgReader(Args args) : args_(args) {}
  [[nodiscard]] bool done() const { return pos_ >= args_.size(); }

  Item next() {
    const std::string_view token = args_[pos_++];
    if (!options_ended_ && token == "--") {
      options_ended_ = true;
      if (done()) return Item{"", std::nullopt, ""};
      return next();
    }
    if (options_ended_ || token.size() < 2 || token[0] != '-') return Item{"", std::nullopt, token};
    if (token.starts_with("--")) {
      const auto eq = token.find('=');
      if (eq == std::string_view::npos) return Item{token, std::nullopt, token};
      return Item{token.substr(0, eq), token.substr(eq + 1), token};
    }
    if (token.size() > 2) return Item{token.substr(0, 2), token.substr(2), token};
    return Item{token, std::nullopt, token};
  }

  // The flag's value: attached, or the next argument — even one starting with '-' (so `-d -x`
  // sends "-x", and `--max-redirects -1` is reported as a bad number, not an unknown flag). A
  // next argument shaped like a long option is taken to be one: `--timeout --json` is a missing
  // value, and --json still applies to the error report. `--data=--x` sends such a value.
  std::string_view value(const Item& item) {
    if (item.attached) return *item.attached;
    if (done() || (args_[pos_].size() > 2 && args_[pos_].starts_with("--"))) {
      throw UsageError(fmt::format("{}: missing value", item.name));
    }
    return args_[pos_++];
  }

  // For flags that take no value: `--json=yes` is a mistake worth reporting.
  static void no_value(const Item& item) {
    if (item.attached) throw UsageError(fmt::format("{}: takes no value, got '{}'", item.name, *item.attached));
  }

 private:
  Args args_;
  std::size_t pos_ = 0;
  bool options_ended_ = false;
};

bool is(const ArgReader::Item& item, std::string_view short_name, std::string_view long_name) {
  return (!short_name.empty() && item.name == short_name) || item.name == long_name;
}

// The rule out of a library message: "ExponentialBackoff: multiplier must be >= 1, got 0.5"
// gives "must be >= 1". The library decides what is valid; the CLI only rephrases it around the
// flag and the text the user typed.
std::string library_rule(const std::exception& e) {
  std::string_view message = e.what();
  if (const auto must = message.find("must"); must != std::string_view::npos) message = message.substr(must);
  if (const auto got = message.rfind(", got"); got != std::string_view::npos) message = message.substr(0, got);
  return std::string(message);
}

template <typename Int>
Int parse_int(std::string_view flag, std::string_view text) {
  Int value{};
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec == std::errc::invalid_argument || end != last) {
    throw UsageError(fmt::format("{}: not a whole number, got '{}'", flag, text));
  }
  if (ec == std::errc::result_out_of_range) throw UsageError(fmt::format("{}: out of range, got '{}'", flag, text));
  return value;
}

double parse_number(std::string_view flag, std::string_view text) {
  double value = 0;
  const auto* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc{} || end != last) {
    throw UsageError(fmt::format("{}: not a number, got '{}'", flag, text));
  }
  return value;
}

std::chrono::nanoseconds parse_dur(std::string_view flag, std::string_view text, bool allow_zero) {
  const auto value = parse_duration(text);
  if (!value) throw UsageError(fmt::format("{}: not a duration ({}), got '{}'", flag, kDurationForm, text));
  if (!allow_zero && *value <= std::chrono::nanoseconds::zero()) {
    throw UsageError(fmt::format("{}: must be > 0, got '{}'", flag, text));
  }
  return std::min(*value, kMaxDuration);
}

std::string read_file(std::string_view flag, std::string_view path) {
  if (path == "-") {
    std::ostringstream all;
    all << std::cin.rdbuf();
    return std::move(all).str();
  }
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) throw UsageError(fmt::format("{}: cannot read '@{}': {}", flag, path, std::strerror(errno)));
  std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw UsageError(fmt::format("{}: cannot read '@{}': read error", flag, path));
  return data;
}

// A probe request checked by the library's validate(): the CLI reports a bad method, URL or
// header under the flag that supplied it, in the library's words.
void check_request_part(std::string_view flag, const Request& probe) {
  auto problem = validate(probe);
  if (!problem) return;
  // The library's URL messages already begin "URL '<text>': ...".
  if (flag == "URL" && problem->starts_with("URL ")) throw UsageError(*problem);
  throw UsageError(fmt::format("{}: {}", flag, *problem));
}

constexpr std::string_view kProbeUrl = "http://probe.invalid/";

void parse_header(GetCommand& cmd, std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw UsageError(fmt::format("-H: expected 'Name: value', got '{}'", text));
  }
  std::string name(text.substr(0, colon));
  std::string_view value = text.substr(colon + 1);
  const auto first = value.find_first_not_of(" \t");
  value = first == std::string_view::npos ? std::string_view{} : value.substr(first);
  value = value.substr(0, value.find_last_not_of(" \t") + 1);
  Request probe{.url = std::string(kProbeUrl), .headers = {{name, std::string(value)}}};
  check_request_part("-H", probe);
  cmd.request.headers.add(std::move(name), std::string(value));
}

void check_cacert(std::string_view path) {
  struct stat st {};
  const std::string p(path);
  if (::stat(p.c_str(), &st) != 0 || ::access(p.c_str(), R_OK) != 0) {
    throw UsageError(fmt::format("--cacert: cannot read '{}': {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) throw UsageError(fmt::format("--cacert: not a regular file, got '{}'", path));
}

// `--rate N/s` or `N/m`: fetches started per second.
double parse_rate(std::string_view text) {
  const auto slash = text.rfind('/');
  const std::string_view unit = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
  if (unit != "s" && unit != "m") throw UsageError(fmt::format("--rate: expected N/s or N/m, got '{}'", text));
  double n = 0;
  try {
    n = parse_number("--rate", text.substr(0, slash));
  } catch (const UsageError&) {
    throw UsageError(fmt::format("--rate: expected N/s or N/m, got '{}'", text));
  }
  if (!(n > 0) || n > 1e9) throw UsageError(fmt::format("--rate: must be > 0 (and at most 1e9), got '{}'", text));
  return unit == "s" ? n : n / 60.0;
}

// The batch-mode flags and the second round's transfer flags; false when `item` is none of them.
bool apply_batch_flag(GetCommand& cmd, ArgReader& reader, const ArgReader::Item& item) {
  if (is(item, "-i", "--input-file")) {
    const auto v = reader.value(item);
    if (v.empty()) throw UsageError("-i: empty file name");
    cmd.batch.input_file = std::string(v);
  } else if (is(item, "-j", "--jobs")) {
    const auto v = reader.value(item);
    const int n = parse_int<int>("-j", v);
    if (n < 1 || n > 10000) throw UsageError(fmt::format("-j: must be 1..10000, got '{}'", v));
    cmd.batch.jobs = n;
  } else if (is(item, "", "--max-per-host")) {
    const auto v = reader.value(item);
    const int n = parse_int<int>("--max-per-host", v);
    if (n < 1) throw UsageError(fmt::format("--max-per-host: must be >= 1, got '{}'", v));
    cmd.batch.max_per_host = n;
  } else if (is(item, "", "--output-dir")) {
    const auto v = reader.value(item);
    if (v.empty()) throw UsageError("--output-dir: empty directory name");
    cmd.batch.output_dir = std::string(v);
  } else if (is(item, "", "--journal")) {
    const auto v = reader.value(item);
    if (v.empty()) throw UsageError("--journal: empty file name");
    cmd.batch.journal = std::string(v);
  } else if (is(item, "", "--rate")) {
    cmd.rate_per_second = parse_rate(reader.value(item));
  } else if (is(item, "-x", "--proxy")) {
    const auto v = reader.value(item);
    const auto scheme_end = v.find("://");
    const std::string_view scheme = scheme_end == std::string_view::npos ? std::string_view{} : v.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https" && scheme != "socks5") {
      throw UsageError(fmt::format("-x: expected an http://, https:// or socks5:// proxy URL, got '{}'", v));
    }
    if (v.find_first_of(" \t\r\n") != std::string_view::npos || v.size() == scheme_end + 3) {
      throw UsageError(fmt::format("-x: not a proxy URL, got '{}'", v));
    }
    cmd.proxy = std::string(v);
  } else if (is(item, "", "--noproxy")) {
    const auto v = reader.value(item);
    if (v.find_first_of("\r\n") != std::string_view::npos) throw UsageError(fmt::format("--noproxy: not a host list, got '{}'", v));
    cmd.no_proxy = std::string(v);
  } else if (is(item, "", "--compressed")) {
    ArgReader::no_value(item);
    cmd.compressed = true;
  } else if (is(item, "", "--http1.1") || is(item, "", "--http2") || is(item, "", "--http2-prior-knowledge")) {
    ArgReader::no_value(item);
    cmd.http_version = item.name == "--http1.1" ? HttpVersion::http1_1
                       : item.name == "--http2" ? HttpVersion::http2
                                                : HttpVersion::http2_prior_knowledge;
  } else if (is(item, "", "--fail-with-body")) {
    ArgReader::no_value(item);
    cmd.fail_with_body = true;
  } else if (is(item, "-C", "--continue")) {
    ArgReader::no_value(item);
    cmd.continue_part = true;
  } else if (is(item, "", "--no-resume")) {
    ArgReader::no_value(item);
    cmd.no_resume = true;
  } else {
    return false;
  }
  return true;
}

// Batch mode takes its URLs from the input; single mode has no use for the batch flags.
void check_batch_combination(const GetCommand& cmd, const std::optional<std::string>& url) {
  // cpp-httplib can speak only to an HTTP proxy.
  if (cmd.proxy && cmd.transport == "httplib" && !cmd.proxy->starts_with("http://")) {
    throw UsageError(fmt::format("-x: the httplib transport supports only http:// proxies, got '{}'", *cmd.proxy));
  }
  // cpp-httplib speaks HTTP/1.1 only.
  if (cmd.http_version && *cmd.http_version != HttpVersion::http1_1 && cmd.transport == "httplib") {
    throw UsageError(fmt::format("--http{}: the httplib transport speaks HTTP/1.1 only (use --transport curl)",
                                 to_string(*cmd.http_version)));
  }
  if (cmd.continue_part) {
    if (cmd.batch.input_file) throw UsageError("-C: not with -i (batch mode)");
    if (!cmd.output_path) throw UsageError("-C: needs -o FILE (FILE.part is kept beside it)");
    if (cmd.no_resume) throw UsageError("-C: not with --no-resume (continuing FILE.part is a Range request)");
    if (cmd.fail_with_body) throw UsageError("-C: not with --fail-with-body (an error page is no part of FILE)");
    if (cmd.compressed) throw UsageError("-C: not with --compressed (a Range counts encoded bytes, FILE.part holds decoded ones)");
  }
  if (cmd.batch.input_file) {
    if (url) throw UsageError(fmt::format("URL: not allowed with -i (the URLs come from the input), got '{}'", *url));
    if (cmd.output_path) throw UsageError("-o: not allowed with -i (use --output-dir)");
    return;
  }
  if (cmd.batch.output_dir) throw UsageError("--output-dir: only with -i (batch mode)");
  if (cmd.batch.journal) throw UsageError("--journal: only with -i (batch mode)");
}

// Handles one `get` flag; false when the name is not a `get` flag.
bool apply_get_flag(GetCommand& cmd, ArgReader& reader, const ArgReader::Item& item, std::optional<std::string>& data,
                    bool& method_given) {
  if (apply_batch_flag(cmd, reader, item)) return true;
  if (is(item, "-X", "--method")) {
    const auto v = reader.value(item);
    check_request_part("-X", Request{.method = std::string(v), .url = std::string(kProbeUrl)});
    cmd.request.method = std::string(v);
    method_given = true;
  } else if (is(item, "-H", "--header")) {
    parse_header(cmd, reader.value(item));
  } else if (is(item, "-d", "--data")) {
    const auto v = reader.value(item);
    std::string piece = v.starts_with('@') ? read_file("-d", v.substr(1)) : std::string(v);
    // Several -d join with '&', as curl does.
    data = data ? *data + "&" + piece : std::move(piece);
  } else if (is(item, "-o", "--output")) {
    const auto v = reader.value(item);
    if (v.empty()) throw UsageError("-o: empty file name");
    cmd.output_path = std::string(v);
  } else if (is(item, "", "--transport")) {
    const auto v = reader.value(item);
    if (v != "curl" && v != "httplib") {
      throw UsageError(fmt::format("--transport: unknown transport (expected curl or httplib), got '{}'", v));
    }
    cmd.transport = std::string(v);
  } else if (is(item, "", "--max-attempts")) {
    const auto v = reader.value(item);
    const int n = parse_int<int>("--max-attempts", v);
    try {
      (void)DefaultRetryPolicy(DefaultRetryPolicy::Options{.max_attempts = n});
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--max-attempts: {}, got '{}'", library_rule(e), v));
    }
    cmd.retry.max_attempts = n;
  } else if (is(item, "", "--backoff-initial")) {
    cmd.backoff.initial = parse_dur("--backoff-initial", reader.value(item), /*allow_zero=*/true);
  } else if (is(item, "", "--backoff-max")) {
    cmd.backoff.max = parse_dur("--backoff-max", reader.value(item), false);
  } else if (is(item, "", "--backoff-multiplier")) {
    const auto v = reader.value(item);
    const double x = parse_number("--backoff-multiplier", v);
    try {
      (void)ExponentialBackoff(ExponentialBackoff::Options{.multiplier = x, .seed = 0});
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--backoff-multiplier: {}, got '{}'", library_rule(e), v));
    }
    cmd.backoff.multiplier = x;
  } else if (is(item, "", "--jitter")) {
    const auto v = reader.value(item);
    const auto jitter = jitter_from_string(v);
    if (!jitter) {
      throw UsageError(fmt::format("--jitter: unknown jitter (expected none, full, equal or decorrelated), got '{}'", v));
    }
    cmd.backoff.jitter = *jitter;
  } else if (is(item, "", "--timeout")) {
    cmd.timeouts.overall = parse_dur("--timeout", reader.value(item), false);
  } else if (is(item, "", "--attempt-timeout")) {
    cmd.timeouts.attempt = parse_dur("--attempt-timeout", reader.value(item), false);
  } else if (is(item, "", "--connect-timeout")) {
    cmd.timeouts.connect = parse_dur("--connect-timeout", reader.value(item), false);
  } else if (is(item, "", "--stall-timeout")) {
    cmd.timeouts.stall = parse_dur("--stall-timeout", reader.value(item), false);
  } else if (is(item, "", "--retry-on")) {
    const auto v = reader.value(item);
    try {
      parse_retry_on(v, cmd.retry);
    } catch (const std::invalid_argument& e) {
      // The library's message already starts with "--retry-on:" and quotes the bad item.
      throw UsageError(e.what());
    }
  } else if (is(item, "", "--retry-non-idempotent")) {
    ArgReader::no_value(item);
    cmd.retry.retry_non_idempotent = true;
  } else if (is(item, "", "--retry-after-max")) {
    cmd.retry.retry_after_max = parse_dur("--retry-after-max", reader.value(item), false);
  } else if (is(item, "", "--no-retry-after")) {
    ArgReader::no_value(item);
    cmd.retry.honor_retry_after = false;
  } else if (is(item, "", "--max-redirects")) {
    const auto v = reader.value(item);
    const int n = parse_int<int>("--max-redirects", v);
    if (n < 0) throw UsageError(fmt::format("--max-redirects: must be >= 0, got '{}'", v));
    cmd.max_redirects = n;
  } else if (is(item, "", "--max-body-size")) {
    const auto v = reader.value(item);
    const auto size = parse_size(v);
    if (!size) {
      throw UsageError(
          fmt::format("--max-body-size: not a size (bytes, optionally with k, M or G, e.g. 512k), got '{}'", v));
    }
    cmd.max_body_bytes = *size;
  } else if (is(item, "", "--cacert")) {
    const auto v = reader.value(item);
    check_cacert(v);
    cmd.cacert = std::string(v);
  } else if (is(item, "", "--json")) {
    ArgReader::no_value(item);
    cmd.json = true;
  } else if (is(item, "-v", "--verbose")) {
    ArgReader::no_value(item);
    cmd.verbose = true;
  } else if (is(item, "-h", "--help")) {
    cmd.help = true;
  } else if (const auto takes_value = fleet_flag_takes_value(item.name)) {
    if (!*takes_value) ArgReader::no_value(item);
    apply_fleet_flag(cmd.fleet, item.name, *takes_value ? std::optional{reader.value(item)} : std::nullopt);
  } else {
    return false;
  }
  return true;
}

// Checks what only the whole command line can tell: the URL is there, the policies accept the
// combination (--backoff-max below --backoff-initial), the request as a whole is valid.
void finish_get(GetCommand& cmd, const std::optional<std::string>& url, std::optional<std::string> data,
                bool method_given) {
  check_batch_combination(cmd, url);
  check_fleet_flags(cmd.fleet);
  if (!url && !cmd.batch.input_file) throw UsageError("URL: missing (usage: fetchpipe get URL [options])");
  // In batch mode the request is the template of every line; each line brings its own URL.
  cmd.request.url = url ? *url : std::string(kProbeUrl);
  check_request_part("URL", Request{.url = cmd.request.url});
  if (data) {
    cmd.request.body = std::move(*data);
    if (!method_given) cmd.request.method = "POST";
  }
  if (cmd.continue_part && cmd.request.method != "GET") {
    throw UsageError(fmt::format("-C: continues GET downloads only, got method '{}'", cmd.request.method));
  }
  try {
    (void)ExponentialBackoff(cmd.backoff);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--backoff-max: must be >= --backoff-initial ({}), got {}",
                                 human_duration(cmd.backoff.initial), human_duration(cmd.backoff.max)));
  }
  try {
    (void)DefaultRetryPolicy(cmd.retry);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("retry options: {}", e.what()));  // unreachable: each flag was checked
  }
  check_request_part("request", cmd.request);
}

}  // namespace

GetParse parse_get(Args args) {
  GetParse result;
  GetCommand& cmd = result.command;
  ArgReader reader(args);
  std::optional<std::string> url;
  std::optional<std::string> data;
  bool method_given = false;
  auto note = [&](std::string message) {
    if (!result.error) result.error = std::move(message);
  };
  while (!reader.done()) {
    try {
      const auto item = reader.next();
      if (item.name.empty()) {
        if (item.text.empty()) continue;
        if (url) throw UsageError(fmt::format("unexpected argument '{}' (one URL only)", item.text));
        url = std::string(item.text);
      } else if (!apply_get_flag(cmd, reader, item, data, method_given)) {
        throw UsageError(fmt::format("unknown option '{}' (see fetchpipe get --help)", item.name));
      }
    } catch (const UsageError& e) {
      note(e.what());
    }
  }
  if (!result.error && !cmd.help) {
    try {
      finish_get(cmd, url, std::move(data), method_given);
    } catch (const UsageError& e) {
      note(e.what());
    }
  }
  return result;
}

ServeCommand parse_serve(Args args) {
  ServeCommand cmd;
  ArgReader reader(args);
  while (!reader.done()) {
    const auto item = reader.next();
    if (is(item, "", "--host")) {
      const auto v = reader.value(item);
      if (v.empty()) throw UsageError("--host: empty host");
      cmd.host = std::string(v);
    } else if (is(item, "", "--port")) {
      const auto v = reader.value(item);
      const long port = parse_int<long>("--port", v);
      if (port < 0 || port > 65535) throw UsageError(fmt::format("--port: must be 0..65535, got '{}'", v));
      cmd.port = static_cast<std::uint16_t>(port);
    } else if (is(item, "-h", "--help")) {
      cmd.help = true;
    } else if (item.name.empty()) {
      if (!item.text.empty()) throw UsageError(fmt::format("serve: unexpected argument '{}'", item.text));
    } else {
      throw UsageError(fmt::format("unknown option '{}' (see fetchpipe serve --help)", item.name));
    }
  }
  return cmd;
}

BenchCommand parse_bench(Args args) {
  BenchCommand cmd;
  bool duration_given = false;
  ArgReader reader(args);
  while (!reader.done()) {
    const auto item = reader.next();
    if (is(item, "", "--transport")) {
      const auto v = reader.value(item);
      if (v == "all") cmd.transports = {"curl", "httplib"};
      else if (v == "curl" || v == "httplib") cmd.transports = {std::string(v)};
      else throw UsageError(fmt::format("--transport: unknown transport (expected curl, httplib or all), got '{}'", v));
    } else if (is(item, "", "--concurrency")) {
      const auto v = reader.value(item);
      cmd.concurrency.clear();
      std::string_view rest = v;
      while (true) {
        const auto comma = rest.find(',');
        const auto piece = rest.substr(0, comma);
        int n = 0;
        try {
          n = parse_int<int>("--concurrency", piece);
        } catch (const UsageError&) {
          throw UsageError(fmt::format("--concurrency: expected a comma list of whole numbers, got '{}'", v));
        }
        if (n < 1 || n > 10000) throw UsageError(fmt::format("--concurrency: each must be 1..10000, got '{}'", v));
        cmd.concurrency.push_back(n);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (is(item, "", "--duration")) {
      cmd.duration = parse_dur("--duration", reader.value(item), false);
      duration_given = true;
    } else if (is(item, "", "--requests")) {
      const auto v = reader.value(item);
      const auto n = parse_int<std::int64_t>("--requests", v);
      if (n < 1) throw UsageError(fmt::format("--requests: must be >= 1, got '{}'", v));
      cmd.requests = static_cast<std::uint64_t>(n);
    } else if (is(item, "", "--url")) {
      const auto v = reader.value(item);
      check_request_part("--url", Request{.url = std::string(v)});
      cmd.url = std::string(v);
    } else if (is(item, "", "--json")) {
      ArgReader::no_value(item);
      cmd.json = true;
    } else if (is(item, "-h", "--help")) {
      cmd.help = true;
    } else if (item.name.empty()) {
      if (!item.text.empty()) throw UsageError(fmt::format("bench: unexpected argument '{}'", item.text));
    } else {
      throw UsageError(fmt::format("unknown option '{}' (see fetchpipe bench --help)", item.name));
    }
  }
  if (duration_given && cmd.requests) throw UsageError("--requests: cannot be combined with --duration");
  return cmd;
}

}  // namespace fetchpipe::cli
