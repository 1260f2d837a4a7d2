// TlsOptions::ca_file / ca_path REPLACE the system trust store on the curl transport.
//
// Debian's libcurl has compiled-in defaults for both CURLOPT_CAINFO
// (/etc/ssl/certs/ca-certificates.crt) and CURLOPT_CAPATH (/etc/ssl/certs); setting one keeps the
// other, so every public CA would stay trusted. To test that without a public CA, the system store
// itself is made to trust the test server: a forked child enters a private mount namespace and
// bind-mounts, over /etc/ssl/certs, a directory holding only the test CA (as the bundle file and as
// a hashed link). Nothing outside the child sees the mount. Inside it, "no options" succeeds (the
// control: the compiled-in defaults really are in use), and a ca_file or ca_path naming an
// unrelated CA must fail the handshake — before the fix it succeeded through the other default.
//
// The child is forked while this binary runs no other thread (this file is its only suite and the
// fixture starts nothing before the fork); it runs the fault server and the transport itself and
// reports one line per case through a pipe.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "curl_test_support.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/tools/test_certificates.hpp"
#include "fetchpipe/transports/curl_transport.hpp"

namespace fetchpipe {
namespace {

namespace fs = std::filesystem;
using namespace curl_test;

constexpr const char* kSystemStore = "/etc/ssl/certs";

// The OpenSSL subject-hash file name ("1a2b3c4d.0") a CA directory lookup expects for `pem`.
std::string hashed_name(const fs::path& pem) {
  FILE* file = std::fopen(pem.c_str(), "r");
  if (file == nullptr) throw std::runtime_error("cannot open " + pem.string());
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (cert == nullptr) throw std::runtime_error("cannot parse " + pem.string());
  char name[32];
  std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(cert));
  X509_free(cert);
  return name;
}

// A self-signed certificate named CN=`name`, written as PEM to `path`. All CAs made by
// make_test_certificates share one subject name, and OpenSSL looks issuers up by name, so a CA
// that must be unrelated needs a name of its own.
void make_unrelated_ca(const fs::path& path, const char* name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) throw std::runtime_error("cannot make a key or certificate");
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  const bool signed_ok = X509_sign(cert, key, EVP_sha256()) != 0;
  FILE* file = std::fopen(path.c_str(), "w");
  const bool written = signed_ok && file != nullptr && PEM_write_X509(file, cert) != 0;
  if (file != nullptr) std::fclose(file);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!written) throw std::runtime_error("cannot write " + path.string());
}

// A CA directory in c_rehash form holding `ca` only.
void make_hashed_dir(const fs::path& dir, const fs::path& ca) {
  fs::create_directories(dir);
  fs::copy_file(ca, dir / hashed_name(ca), fs::copy_options::overwrite_existing);
}

// "ok", or the error kind's name and message.
std::string outcome(CurlTransport& transport, const std::string& url, std::string ca_file, std::string ca_path) {
  Call call(url);
  call.tls.ca_file = std::move(ca_file);
  call.tls.ca_path = std::move(ca_path);
  const ExchangeResult result = call.run(transport);
  if (!result.error) return "ok";
  return std::string(to_string(*result.error)) + ": " + result.message;
}

class CurlTrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fetchpipe-curl-trust-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    server_certs_ = tools::make_test_certificates(dir_ / "server");
    unrelated_ca_ = dir_ / "unrelated-ca.pem";
    make_unrelated_ca(unrelated_ca_, "unrelated test CA");
    // The stand-in for /etc/ssl/certs: the bundle file and the hashed directory both trust the
    // server, as a public CA in the real store would.
    fs::create_directories(dir_ / "store");
    fs::copy_file(server_certs_.ca_cert_file, dir_ / "store" / "ca-certificates.crt");
    make_hashed_dir(dir_ / "store", server_certs_.ca_cert_file);
    make_hashed_dir(dir_ / "other-hashed", unrelated_ca_);
    make_hashed_dir(dir_ / "server-hashed", server_certs_.ca_cert_file);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs every case in a child whose /etc/ssl/certs is dir_/store. Returns case -> outcome, or
  // an empty map and sets `why` when the child could not set up the namespace.
  std::map<std::string, std::string> run_in_private_store(std::string& why) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      child(fds[1]);  // never returns
    }
    ::close(fds[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::map<std::string, std::string> results;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      const auto tab = line.find('\t');
      if (line.starts_with("setup\t")) why = line.substr(tab + 1);
      else if (tab != std::string::npos) results[line.substr(0, tab)] = line.substr(tab + 1);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) why += " (child exit status " + std::to_string(status) + ")";
    return results;
  }

  [[noreturn]] void child(int out) {
    auto say = [out](const std::string& key, const std::string& value) {
      const std::string line = key + "\t" + value + "\n";
      [[maybe_unused]] const auto n = ::write(out, line.data(), line.size());
    };
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount((dir_ / "store").c_str(), kSystemStore, nullptr, MS_BIND, nullptr) != 0) {
      say("setup", std::string("cannot bind-mount a private ") + kSystemStore + ": " + std::strerror(errno));
      ::_exit(0);
    }
    int code = 0;
    try {
      tools::FaultServer server({.tls = true,
                                 .tls_cert_file = server_certs_.server_cert_file,
                                 .tls_key_file = server_certs_.server_key_file});
      CurlTransport transport;
      const std::string url = server.tls_url("/fixed");
      say("system store", outcome(transport, url, "", ""));
      say("ca_file unrelated", outcome(transport, url, unrelated_ca_.string(), ""));
      say("ca_path unrelated", outcome(transport, url, "", (dir_ / "other-hashed").string()));
      say("ca_file trusted", outcome(transport, url, server_certs_.ca_cert_file.string(), ""));
      say("ca_path trusted", outcome(transport, url, "", (dir_ / "server-hashed").string()));
      say("both, path trusted", outcome(transport, url, unrelated_ca_.string(),
                                                        (dir_ / "server-hashed").string()));
    } catch (const std::exception& e) {
      say("setup", std::string("child failed: ") + e.what());
      code = 1;
    }
    ::close(out);
    ::_exit(code);
  }

  fs::path dir_;
  tools::TestCertificates server_certs_;
  fs::path unrelated_ca_;
};

TEST_F(CurlTrustStoreTest, CaFileOrCaPathReplacesTheCompiledInSystemStore) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  std::string why;
  auto results = run_in_private_store(why);
  // A container without CAP_SYS_ADMIN cannot make the namespace: an environment limit, said so.
  if (why.starts_with("cannot bind-mount")) GTEST_SKIP() << why;
  ASSERT_TRUE(why.empty()) << why;
  // Control: with no option libcurl uses its compiled-in store, which here trusts the server.
  EXPECT_EQ(results["system store"], "ok");
  // The fix: the option given replaces the store, it does not add to it.
  EXPECT_TRUE(results["ca_file unrelated"].starts_with("tls_failure")) << results["ca_file unrelated"];
  EXPECT_TRUE(results["ca_path unrelated"].starts_with("tls_failure")) << results["ca_path unrelated"];
  EXPECT_EQ(results["ca_file trusted"], "ok");
  EXPECT_EQ(results["ca_path trusted"], "ok");
  // Both given: both are trusted (neither is cleared).
  EXPECT_EQ(results["both, path trusted"], "ok");
}

}  // namespace
}  // namespace fetchpipe
