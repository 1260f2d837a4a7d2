// A conformance suite parameterised by transport name, with one plain fault server shared by its
// tests (counters are kept apart by test_key()).
#pragma once

#include <string>

#include "conformance_support.hpp"

namespace fetchpipe::conformance {

class ServerSuite : public ::testing::TestWithParam<std::string> {
 public:
  static void SetUpTestSuite() { server_ = new tools::FaultServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string url(const std::string& path) { return server_->url(path); }
  static tools::FaultServer& server() { return *server_; }

 private:
  inline static tools::FaultServer* server_ = nullptr;
};

}  // namespace fetchpipe::conformance
