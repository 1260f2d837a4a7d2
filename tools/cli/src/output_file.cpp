#include "output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "fd_io.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// The mode a plain open(O_CREAT, 0666) would give: mkstemp makes 0600, but FILE should look like
// any other file the user downloads. umask can only be read by setting it; this runs before the
// tool starts any thread, so nothing else can observe the brief change.
mode_t default_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

OutputFile OutputFile::create(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError(fmt::format("-o: is a directory, got '{}'", path));
  }
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw UsageError(fmt::format("-o: cannot open '{}': {}", path, std::strerror(errno)));
    return OutputFile(path, "", fd);
  }
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // Hidden and marked, so a half-written download is recognisable if the machine dies mid-way.
  std::string temp = fmt::format("{}/.{}.fetchpipe-XXXXXX", dir, base);
  std::vector<char> buffer(temp.begin(), temp.end());
  buffer.push_back('\0');
  const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) {
    throw UsageError(fmt::format("-o: cannot create a file in '{}': {}, got '{}'", dir, std::strerror(errno), path));
  }
  (void)::fchmod(fd, default_file_mode());
  return OutputFile(path, std::string(buffer.data()), fd);
}

OutputFile::OutputFile(std::string path, std::string temp_path, int fd)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)), fd_(other.fd_), done_(other.done_) {
  other.fd_ = -1;
  other.done_ = true;
}

OutputFile::~OutputFile() { discard(); }

bool OutputFile::write(std::string_view bytes) { return write_all(fd_, bytes); }

bool OutputFile::rewind() {
  // A device cannot start over; what it was given is gone either way.
  if (in_place()) return true;
  return ::ftruncate(fd_, 0) == 0 && ::lseek(fd_, 0, SEEK_SET) == 0;
}

bool OutputFile::commit() {
  if (done_) return false;
  if (in_place()) {
    done_ = true;
    const bool ok = ::close(fd_) == 0;
    fd_ = -1;
    return ok;
  }
  // fsync before rename: otherwise a crash can leave FILE renamed but empty on some file systems.
  const bool ok = ::fsync(fd_) == 0 && ::close(fd_) == 0;
  fd_ = -1;
  if (!ok || ::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    discard();
    errno = saved;
    return false;
  }
  done_ = true;
  return true;
}

void OutputFile::discard() noexcept {
  if (done_) return;
  done_ = true;
  if (!in_place()) ::unlink(temp_path_.c_str());
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void OutputFile::unlink_now() const noexcept {
  if (!done_ && !in_place()) ::unlink(temp_path_.c_str());
}

}  // namespace fetchpipe::cli
