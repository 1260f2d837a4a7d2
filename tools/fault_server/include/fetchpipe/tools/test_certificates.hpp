// fetchpipe/tools/test_certificates.hpp — a throw-away CA and server certificate for TLS tests.
//
// make_test_certificates(dir) generates, with OpenSSL's C API (no shelling out), a self-signed CA
// and a server certificate for "localhost" and 127.0.0.1 (CN localhost; SAN DNS:localhost,
// IP:127.0.0.1) signed by that CA, writes them as PEM into `dir` (created if missing) and returns
// the paths. Every call makes a new CA, so a second call gives an *untrusted* CA for negative
// tests.
//
//   auto certs = fetchpipe::tools::make_test_certificates(tmp / "certs");
//   curl_easy_setopt(h, CURLOPT_CAINFO, certs.ca_cert_file.c_str());   // verification passes
#pragma once

#include <filesystem>
#include <string>

namespace fetchpipe::tools {

struct TestCertificates {
  std::filesystem::path ca_cert_file;      // <dir>/ca.pem: the CA certificate to trust
  std::filesystem::path server_cert_file;  // <dir>/server.pem: the server certificate
  std::filesystem::path server_key_file;   // <dir>/server-key.pem: its private key (unencrypted)
};

// Keys are ECDSA P-256; certificates are valid from one hour ago for ten years. Throws
// std::runtime_error with OpenSSL's message (or the file name) on failure.
[[nodiscard]] TestCertificates make_test_certificates(const std::filesystem::path& dir);

// Other names, for tests that need them: a CA with a different subject (OpenSSL finds a CA in a
// hashed directory by subject name, so two CAs of one name shadow each other), or a server
// certificate for other hosts (a host-name mismatch).
struct TestCertificateNames {
  std::string ca_name = "fetchpipe test CA";                // the CA's CN
  std::string server_names = "DNS:localhost,IP:127.0.0.1";  // the server's subjectAltName
};
[[nodiscard]] TestCertificates make_test_certificates(const std::filesystem::path& dir,
                                                      const TestCertificateNames& names);

}  // namespace fetchpipe::tools
