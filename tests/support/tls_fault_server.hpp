// Test support: a fault server with a TLS listener, its certificates made at test time in a
// temporary directory that is removed afterwards.
#pragma once

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/tools/test_certificates.hpp"

namespace fetchpipe::testing {

class TlsFaultServer {
 public:
  // `names`: the CA's and the server certificate's names (default: localhost and 127.0.0.1).
  explicit TlsFaultServer(const std::string& tag, const tools::TestCertificateNames& names = {})
      : dir_(std::filesystem::temp_directory_path() / ("fetchpipe-" + tag + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
    certs_ = tools::make_test_certificates(dir_, names);
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

// Makes `dir` an OpenSSL hashed certificate directory (what TlsOptions::ca_path names) holding
// only `ca_file`: the copy is named <subject hash>.0, as `openssl rehash` would name it.
// Tests that link this need OpenSSL::Crypto.
inline std::filesystem::path make_hashed_ca_dir(const std::filesystem::path& ca_file,
                                                const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  FILE* in = std::fopen(ca_file.c_str(), "r");
  if (in == nullptr) throw std::runtime_error("cannot open " + ca_file.string());
  X509* cert = PEM_read_X509(in, nullptr, nullptr, nullptr);
  std::fclose(in);
  if (cert == nullptr) throw std::runtime_error("no certificate in " + ca_file.string());
  char name[16];
  std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(cert));
  X509_free(cert);
  std::filesystem::copy_file(ca_file, dir / name, std::filesystem::copy_options::overwrite_existing);
  return dir;
}

// Sets an environment variable for a scope and restores it after. OpenSSL reads SSL_CERT_FILE
// and SSL_CERT_DIR when it loads its default ("system") store, so a test can point the system
// store at a CA it made and check who still trusts it. Set it before starting any transport.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace fetchpipe::testing
