// temp_dir.hpp — small helpers shared by the CLI tests: a fresh directory per test, and a
// bounded poll for a condition.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace fetchpipe::test {

// A fresh, empty directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() : TempDir(std::filesystem::temp_directory_path()) {}
  // Under `parent` instead: a test with ten thousand files uses a memory file system where one
  // exists (/dev/shm), since unlinking them on a busy disk takes longer than the test itself.
  explicit TempDir(const std::filesystem::path& parent) {
    std::string pattern = (parent / "fetchpipe-cli-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    return names;
  }

 private:
  std::filesystem::path path_;
};

// /dev/shm when it is a writable directory, else the usual temporary directory.
inline std::filesystem::path memory_temp_parent() {
  std::error_code ec;
  const std::filesystem::path shm = "/dev/shm";
  if (std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0) return shm;
  return std::filesystem::temp_directory_path();
}

inline bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});  // polling with a deadline, not a barrier
  }
  return true;
}

}  // namespace fetchpipe::test
