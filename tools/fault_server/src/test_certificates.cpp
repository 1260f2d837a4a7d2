#include "fetchpipe/tools/test_certificates.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace fetchpipe::tools {

namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// Throws with OpenSSL's queued error, which says far more than "step X failed".
[[noreturn]] void fail(const std::string& step) {
  const unsigned long code = ERR_get_error();
  char text[256] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  throw std::runtime_error(fmt::format("make_test_certificates: {}: {}", step, text));
}

void check(int ok, const std::string& step) {
  if (ok != 1) fail(step);
}

KeyPtr make_key() {
  KeyPtr key(EVP_EC_gen("P-256"));  // P-256: fast to generate, accepted by every TLS stack
  if (!key) fail("generate P-256 key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(fmt::format("make extension {}", value));
  check(X509_add_ext(cert, ext.get(), -1), "add extension");
}

// A v3 certificate for `key`, named CN=`common_name`, not yet signed.
CertPtr make_cert(EVP_PKEY* key, const char* common_name) {
  CertPtr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), 2), "set version");
  // A random serial: two CAs made by two calls must never look like the same certificate.
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof serial), "random serial");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Deleter<BN_free>> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
    fail("set serial");
  // Valid from an hour ago, so a clock slightly behind does not reject a fresh certificate.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) == nullptr) {
    fail("set validity");
  }
  check(X509_set_pubkey(cert.get(), key), "set public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("fetchpipe tests"), -1,
                                   -1, 0),
        "set O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0),
        "set CN");
  return cert;
}

void write_file(const std::filesystem::path& path, const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) fail(fmt::format("open {}", path.string()));
  check(write(bio.get()), fmt::format("write {}", path.string()));
}

}  // namespace

TestCertificates make_test_certificates(const std::filesystem::path& dir) {
  return make_test_certificates(dir, TestCertificateNames{});
}

TestCertificates make_test_certificates(const std::filesystem::path& dir,
                                        const TestCertificateNames& names) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("make_test_certificates: create {}: {}", dir.string(), ec.message()));

  const KeyPtr ca_key = make_key();
  const CertPtr ca = make_cert(ca_key.get(), names.ca_name.c_str());
  check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())), "set CA issuer");
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) fail("sign CA");

  const KeyPtr server_key = make_key();
  const CertPtr server = make_cert(server_key.get(), "localhost");
  check(X509_set_issuer_name(server.get(), X509_get_subject_name(ca.get())), "set server issuer");
  add_extension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  // Clients match names against the SAN, not the CN, so both spellings of loopback go here.
  add_extension(server.get(), ca.get(), NID_subject_alt_name, names.server_names.c_str());
  add_extension(server.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) fail("sign server certificate");

  TestCertificates out{dir / "ca.pem", dir / "server.pem", dir / "server-key.pem"};
  write_file(out.ca_cert_file, [&](BIO* bio) { return PEM_write_bio_X509(bio, ca.get()); });
  write_file(out.server_cert_file, [&](BIO* bio) { return PEM_write_bio_X509(bio, server.get()); });
  write_file(out.server_key_file, [&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, server_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  std::filesystem::permissions(
      out.server_key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace, ec);  // best effort
  return out;
}

}  // namespace fetchpipe::tools
