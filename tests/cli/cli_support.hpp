// cli_support.hpp — what the CLI test files share: the --json report of a run, and a scratch
// directory per test.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "mini_json.hpp"

namespace fetchpipe::test {

// The --json object: the last line of stderr (a test failure, and null, when it is not JSON).
inline Json report_of(const ChildResult& r) {
  auto json = parse_json(r.last_err_line());
  if (!json) {
    ADD_FAILURE() << "last stderr line is not JSON:\n" << r.err;
    return Json{nullptr};
  }
  return *json;
}

// A fresh, empty directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fetchpipe-cli-XXXXXX").string();
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

}  // namespace fetchpipe::test
