// cli_support.hpp — what the CLI test files share: the --json report of a run, and (from
// temp_dir.hpp) a scratch directory per test and a bounded poll.
#pragma once

#include <gtest/gtest.h>
#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "mini_json.hpp"
#include "temp_dir.hpp"

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

}  // namespace fetchpipe::test
