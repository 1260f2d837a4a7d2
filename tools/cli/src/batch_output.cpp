#include "batch_output.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "fd_io.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

constexpr std::size_t kMaxSuffixHints = 100000;
constexpr int kTempTries = 100;

std::shared_ptr<const int> own_fd(int fd) {
  return std::shared_ptr<const int>(new int(fd), [](const int* p) {
    ::close(*p);
    delete p;
  });
}

// The mode a plain open(O_CREAT, 0666) gives (see output_file.cpp for why umask is read this way).
mode_t file_mode() {
  static const mode_t mode = [] {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return 0666 & ~mask;
  }();
  return mode;
}

// Places `temp` under `name` in `dir` without replacing anything: false with errno EEXIST when the
// name is taken (by anything, a dangling link included).
bool place_noreplace(int dir, const std::string& temp, const std::string& name) {
  if (::renameat2(dir, temp.c_str(), dir, name.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS) return false;
  // The file system has no RENAME_NOREPLACE: link(2) also refuses an existing name.
  if (::linkat(dir, temp.c_str(), dir, name.c_str(), 0) != 0) return false;
  ::unlinkat(dir, temp.c_str(), 0);
  return true;
}

}  // namespace

BatchBody::BatchBody(std::shared_ptr<const int> dir_fd, std::string relative, std::string temp_name, int fd)
    : dir_fd_(std::move(dir_fd)), relative_(std::move(relative)), temp_name_(std::move(temp_name)), fd_(fd) {}

BatchBody::~BatchBody() { discard(); }

bool BatchBody::write(std::string_view bytes) { return write_all(fd_, bytes); }

bool BatchBody::rewind() { return ::ftruncate(fd_, 0) == 0 && ::lseek(fd_, 0, SEEK_SET) == 0; }

bool BatchBody::sync() {
  if (!synced_) {
    synced_ = true;
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) sync_errno_ = errno;
    fd_ = -1;
  }
  errno = sync_errno_;
  return sync_errno_ == 0;
}

void BatchBody::discard() noexcept {
  if (done_) return;
  done_ = true;
  ::unlinkat(*dir_fd_, temp_name_.c_str(), 0);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

BatchOutputDir::BatchOutputDir(std::string path, int fd) : path_(std::move(path)), root_(own_fd(fd)) {}

BatchOutputDir BatchOutputDir::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int saved = errno;
    throw UsageError(fmt::format("--output-dir: cannot use '{}': {}", path, ec ? ec.message() : std::strerror(saved)));
  }
  return BatchOutputDir(path, fd);
}

std::variant<std::unique_ptr<BatchBody>, std::string> BatchOutputDir::begin(const std::string& relative) {
  // Walk the subdirectories one component at a time, never through a link.
  std::shared_ptr<const int> dir = root_;
  std::string_view rest = relative;
  std::string walked;
  for (auto slash = rest.find('/'); slash != std::string_view::npos; slash = rest.find('/')) {
    const std::string part(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
    walked += walked.empty() ? part : "/" + part;
    if (::mkdirat(*dir, part.c_str(), 0777) != 0 && errno != EEXIST) {
      return fmt::format("cannot create directory '{}': {}", shown(walked), std::strerror(errno));
    }
    const int fd = ::openat(*dir, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      const int saved = errno;
      if (saved == ELOOP || saved == ENOTDIR) return fmt::format("'{}' is not a directory (links are not followed)", shown(walked));
      return fmt::format("cannot open directory '{}': {}", shown(walked), std::strerror(saved));
    }
    dir = own_fd(fd);
  }
  thread_local std::mt19937_64 random{std::random_device{}()};
  for (int i = 0; i < kTempTries; ++i) {
    std::string temp = fmt::format(".fetchpipe-{:016x}.tmp", random());
    const int fd = ::openat(*dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode());
    if (fd >= 0) return std::make_unique<BatchBody>(dir, relative, std::move(temp), fd);
    if (errno != EEXIST) {
      return fmt::format("cannot create a file in '{}': {}", shown(walked.empty() ? "." : walked), std::strerror(errno));
    }
  }
  return fmt::format("cannot create a temporary file in '{}'", shown(walked.empty() ? "." : walked));
}

BatchPlaced BatchOutputDir::commit(BatchBody& body) {
  auto fail = [&](std::string message) {
    body.discard();
    return BatchPlaced(std::in_place_index<1>, std::move(message));
  };
  if (body.done_) return fail("the body was already discarded");
  // fsync before the name appears: the journal will say this line succeeded, and a re-run skips
  // it, so the file must not be empty after a crash.
  if (!body.sync()) return fail(fmt::format("cannot write '{}': {}", shown(body.relative_), std::strerror(errno)));
  const auto slash = body.relative_.rfind('/');
  const std::string prefix = slash == std::string::npos ? "" : body.relative_.substr(0, slash + 1);
  const std::string base = body.relative_.substr(prefix.size());
  if (next_suffix_.size() >= kMaxSuffixHints) next_suffix_.clear();
  std::uint64_t& next = next_suffix_[body.relative_];
  for (std::uint64_t n = next;; ++n) {
    const std::string name = n == 0 ? base : fmt::format("{}.{}", base, n);
    if (place_noreplace(*body.dir_fd_, body.temp_name_, name)) {
      next = n + 1;
      body.done_ = true;
      return BatchPlaced(std::in_place_index<0>, prefix + name);
    }
    if (errno != EEXIST) return fail(fmt::format("cannot name '{}': {}", shown(prefix + name), std::strerror(errno)));
    if (n - next > kMaxSuffixHints) return fail(fmt::format("no free name for '{}'", shown(body.relative_)));
  }
}

std::string BatchOutputDir::shown(const std::string& relative) const {
  if (path_ == ".") return relative;
  if (!path_.empty() && path_.back() == '/') return path_ + relative;
  return path_ + "/" + relative;
}

}  // namespace fetchpipe::cli
