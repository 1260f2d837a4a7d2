// Defines recv, send, SSL_read and SSL_write for the whole process (see read_tap.hpp). Keep every
// path here minimal: it runs for every socket read and write of the process.
#undef _FORTIFY_SOURCE  // glibc's fortified recv is an inline wrapper; we define the real symbol

#include "read_tap.hpp"

#include <dlfcn.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>

namespace fetchpipe::detail {
namespace {

struct ThreadTap {
  ReadTap* tap = nullptr;
  bool tls = false;
};
// initial-exec: no lazy allocation on first access, so the pass-through stays async-signal-safe.
[[gnu::tls_model("initial-exec")]] thread_local ThreadTap t_tap;

using RecvFn = ssize_t (*)(int, void*, std::size_t, int);
using SendFn = ssize_t (*)(int, const void*, std::size_t, int);
using SslReadFn = int (*)(SSL*, void*, int);
using SslWriteFn = int (*)(SSL*, const void*, int);

// The definition the dynamic linker would have used without ours: the next one in lookup order
// (a sanitizer's interceptor, an LD_PRELOAD library, or libc/libssl), else libssl's own.
void* next_symbol(const char* name) {
  void* next = ::dlsym(RTLD_NEXT, name);
  if (next == nullptr) {
    if (void* ssl = ::dlopen("libssl.so.3", RTLD_LAZY | RTLD_NOLOAD)) next = ::dlsym(ssl, name);
  }
  return next;
}

template <typename Fn>
Fn resolved(std::atomic<Fn>& cache, const char* name) {
  Fn fn = cache.load(std::memory_order_acquire);
  if (fn == nullptr) {
    fn = reinterpret_cast<Fn>(next_symbol(name));
    cache.store(fn, std::memory_order_release);
  }
  return fn;
}

std::atomic<RecvFn> g_recv{nullptr};
std::atomic<SendFn> g_send{nullptr};
std::atomic<SslReadFn> g_ssl_read{nullptr};
std::atomic<SslWriteFn> g_ssl_write{nullptr};

ssize_t real_recv(int fd, void* buf, std::size_t n, int flags) {
  if (RecvFn fn = resolved(g_recv, "recv")) return fn(fd, buf, n, flags);
  return ::recvfrom(fd, buf, n, flags, nullptr, nullptr);
}

ssize_t real_send(int fd, const void* buf, std::size_t n, int flags) {
  if (SendFn fn = resolved(g_send, "send")) return fn(fd, buf, n, flags);
  return ::sendto(fd, buf, n, flags, nullptr, 0);
}

}  // namespace

ScopedReadTap::ScopedReadTap(ReadTap& tap, bool tls) { t_tap = ThreadTap{.tap = &tap, .tls = tls}; }
ScopedReadTap::~ScopedReadTap() { t_tap = ThreadTap{}; }

PausedReadTap::PausedReadTap() : tap_(t_tap.tap), tls_(t_tap.tls) { t_tap = ThreadTap{}; }
PausedReadTap::~PausedReadTap() { t_tap = ThreadTap{.tap = tap_, .tls = tls_}; }

}  // namespace fetchpipe::detail

using fetchpipe::detail::t_tap;

extern "C" {

__attribute__((visibility("default"))) ssize_t recv(int fd, void* buf, std::size_t n, int flags) {
  const ssize_t got = fetchpipe::detail::real_recv(fd, buf, n, flags);
  const auto tap = t_tap;
  if (got > 0 && tap.tap != nullptr && !tap.tls && (flags & MSG_PEEK) == 0 &&
      !tap.tap->on_response_bytes(static_cast<const char*>(buf), static_cast<std::size_t>(got))) {
    errno = ECONNRESET;
    return -1;
  }
  return got;
}

__attribute__((visibility("default"))) ssize_t send(int fd, const void* buf, std::size_t n, int flags) {
  const auto tap = t_tap;
  if (tap.tap != nullptr && !tap.tls) tap.tap->on_request_bytes();
  return fetchpipe::detail::real_send(fd, buf, n, flags);
}

__attribute__((visibility("default"))) int SSL_read(SSL* ssl, void* buf, int num) {
  const auto fn = fetchpipe::detail::resolved(fetchpipe::detail::g_ssl_read, "SSL_read");
  if (fn == nullptr) return -1;
  const int got = fn(ssl, buf, num);
  const auto tap = t_tap;
  if (got > 0 && tap.tap != nullptr && tap.tls &&
      !tap.tap->on_response_bytes(static_cast<const char*>(buf), static_cast<std::size_t>(got))) {
    return -1;
  }
  return got;
}

__attribute__((visibility("default"))) int SSL_write(SSL* ssl, const void* buf, int num) {
  const auto tap = t_tap;
  if (tap.tap != nullptr && tap.tls) tap.tap->on_request_bytes();
  const auto fn = fetchpipe::detail::resolved(fetchpipe::detail::g_ssl_write, "SSL_write");
  return fn == nullptr ? -1 : fn(ssl, buf, num);
}

}  // extern "C"

namespace fetchpipe::detail {

bool read_tap_active() {
  // What an unqualified lookup from the global scope finds is what cpp-httplib's calls bind to.
  return ::dlsym(RTLD_DEFAULT, "recv") == reinterpret_cast<void*>(&::recv) &&
         ::dlsym(RTLD_DEFAULT, "send") == reinterpret_cast<void*>(&::send) &&
         ::dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&::SSL_read) &&
         ::dlsym(RTLD_DEFAULT, "SSL_write") == reinterpret_cast<void*>(&::SSL_write);
}

}  // namespace fetchpipe::detail
