// Test support: a fault server with a TLS listener, its certificates made at test time in a
// temporary directory that is removed afterwards.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/tools/test_certificates.hpp"

namespace fetchpipe::testing {

class TlsFaultServer {
 public:
  explicit TlsFaultServer(const std::string& tag)
      : dir_(std::filesystem::temp_directory_path() / ("fetchpipe-" + tag + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
    certs_ = tools::make_test_certificates(dir_);
    server_ = std::make_unique<tools::FaultServer>(tools::FaultServer::Options{
        .tls = true, .tls_cert_file = certs_.server_cert_file, .tls_key_file = certs_.server_key_file});
  }
  ~TlsFaultServer() {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TlsFaultServer(const TlsFaultServer&) = delete;
  TlsFaultServer& operator=(const TlsFaultServer&) = delete;

  [[nodiscard]] tools::FaultServer& server() { return *server_; }
  [[nodiscard]] const tools::TestCertificates& certs() const { return certs_; }

 private:
  std::filesystem::path dir_;
  tools::TestCertificates certs_;
  std::unique_ptr<tools::FaultServer> server_;
};

}  // namespace fetchpipe::testing
