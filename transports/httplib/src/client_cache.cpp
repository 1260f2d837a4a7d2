#include "client_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace fetchpipe::detail {
namespace {

std::string cache_key(const Url& url, const TlsOptions& tls) {
  if (!url.is_https()) return url.origin();
  return fmt::format("{}|{}|{}|{}", url.origin(), tls.verify_peer ? 1 : 0, tls.ca_file, tls.ca_path);
}

// ca_file and ca_path replace the system store, and both count when both are set. cpp-httplib
// 0.11 loads the system store (SSL_CTX_set_default_verify_paths) only when both paths are empty,
// and with a file it loads the file alone and ignores the directory; so the directory is added
// to the context's store here, and the file is left to cpp-httplib (which then never loads the
// system store, and reports an unreadable file as SSLLoadingCerts).
void trust_only(httplib::SSLClient& client, const TlsOptions& tls) {
  client.set_ca_cert_path(tls.ca_file, tls.ca_path);
  if (!tls.ca_file.empty() && !tls.ca_path.empty()) {
    // Only allocation can fail here; then fewer CAs are trusted, never more.
    if (X509_STORE* store = SSL_CTX_get_cert_store(client.ssl_context())) {
      X509_STORE_load_path(store, tls.ca_path.c_str());
    }
  }
}

std::unique_ptr<httplib::ClientImpl> make_client(const Url& url, const TlsOptions& tls) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.is_https()) {
    auto ssl = std::make_unique<httplib::SSLClient>(url.host(), url.port());
    ssl->enable_server_certificate_verification(tls.verify_peer);
    trust_only(*ssl, tls);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host(), url.port());
  }
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  // Redirects are the pipeline's job; cpp-httplib's would carry credentials across origins.
  client->set_follow_location(false);
  // The target was validated and is sent as given, not re-encoded.
  client->set_url_encode(false);
  return client;
}

}  // namespace

PooledClient::~PooledClient() {
  // The client closes its socket first, then our dup goes: the peer sees one close.
  client.reset();
  if (dup_fd >= 0) ::close(dup_fd);
}

int PooledClient::adopt_socket(int fd, int* previous) {
  *previous = dup_fd;
  dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return dup_fd;
}

void PooledClient::release_closed_socket() {
  if (dup_fd >= 0 && client->is_socket_open() == 0) {
    ::close(dup_fd);
    dup_fd = -1;
  }
}

ClientCache::ClientCache(std::size_t capacity, bool decompress, SocketHook hook)
    : capacity_(capacity), decompress_(decompress), hook_(std::move(hook)) {}

PooledClient& ClientCache::get(const Url& url, const TlsOptions& tls, const ProxyChoice& proxy) {
  std::string key = cache_key(url, tls);
  if (proxy.host) key += fmt::format("|proxy {}:{}", *proxy.host, proxy.port);
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (it->key == key) {
      clients_.splice(clients_.begin(), clients_, it);
      return clients_.front();
    }
  }
  if (clients_.size() >= capacity_) clients_.pop_back();
  PooledClient& pooled = clients_.emplace_front();
  pooled.key = key;
  pooled.client = make_client(url, tls);
  if (proxy.host) pooled.client->set_proxy(*proxy.host, proxy.port);
  // Off by default: max_body_bytes and Content-Length then describe the wire.
  pooled.client->set_decompress(decompress_);
  pooled.client->set_socket_options([this, p = &pooled](int fd) { hook_(*p, fd); });
  return pooled;
}

void ClientCache::discard(PooledClient& client) {
  clients_.remove_if([&](const PooledClient& c) { return &c == &client; });
}

}  // namespace fetchpipe::detail
