// One worker's keep-alive httplib clients, one per origin and TLS setting, least recently used
// first out. Used by its worker thread only, so no client is ever destroyed while another thread
// is inside it (cpp-httplib 0.11 aborts on that).
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include <httplib.h>

#include "fetchpipe/transport.hpp"
#include "fetchpipe/url.hpp"
#include "proxy_selection.hpp"

namespace fetchpipe::detail {

struct PooledClient {
  std::string key;                          // origin + TLS settings
  std::unique_ptr<httplib::ClientImpl> client;
  // Our dup of the client's current socket (-1 if none). Holding a dup keeps the descriptor
  // number ours, so a shutdown() from another thread can never hit a reused number; it is
  // replaced when httplib opens a new socket and closed when httplib closed its own.
  int dup_fd = -1;

  PooledClient() = default;
  PooledClient(const PooledClient&) = delete;
  PooledClient& operator=(const PooledClient&) = delete;
  ~PooledClient();

  // Called from the socket_options hook with httplib's new socket: takes a dup of it and returns
  // it, or -1 if dup failed (then only cpp-httplib's own timeouts can end a blocked call on that
  // socket). The previous dup is handed back in `previous` for the caller to close once no
  // exchange refers to it any more.
  int adopt_socket(int fd, int* previous);
  // Closes the dup once cpp-httplib has closed its socket, so the peer sees the close.
  void release_closed_socket();
};

class ClientCache {
 public:
  // Installed as the socket_options hook of each client: (the client, httplib's new socket).
  using SocketHook = std::function<void(PooledClient&, int fd)>;

  // `decompress`: clients decode Content-Encoding (gzip, deflate, br) before the body receiver.
  ClientCache(std::size_t capacity, bool decompress, SocketHook hook);

  // The client for this URL's origin and TLS settings, created and configured if needed:
  // keep-alive on, TCP_NODELAY on, redirects off (the pipeline follows them), the target sent
  // as given, certificate and host name verification per `tls`.
  // With `proxy.host`, the client goes through that HTTP proxy (a separate client per proxy).
  PooledClient& get(const Url& url, const TlsOptions& tls, const ProxyChoice& proxy);
  // Destroys a client whose connection was interrupted or failed; the next get() makes a new one.
  void discard(PooledClient& client);

 private:
  std::size_t capacity_;
  bool decompress_;
  SocketHook hook_;
  std::list<PooledClient> clients_;  // most recently used first; stable addresses
};

}  // namespace fetchpipe::detail
