// The worker's view from below cpp-httplib: the bytes of each exchange as they cross the socket.
//
// cpp-httplib 0.11 has no hook between the socket and its parser, and Debian's split build keeps
// the parser in libcpp-httplib.so where it cannot be patched. Yet the transport needs the raw
// response head (cpp-httplib percent-decodes every header value), the number of head bytes read
// *while* they are read (cpp-httplib buffers header lines without limit), and the time of each
// byte (the stall clock). So this transport defines the four functions cpp-httplib moves data
// with — recv() and send() for http, SSL_read() and SSL_write() for https — and the dynamic
// linker binds cpp-httplib's calls to them (the executable's definitions come first). Each calls
// straight through to the real function; only a thread that installed a tap (a worker inside
// cpp-httplib's send()) is reported to. For every other caller in the process (libcurl, servers,
// the application) they are plain pass-throughs.
//
// If the interposition is not in effect (e.g. fetchpipe_httplib built as a shared library loaded
// after libc/libssl), the tap sees nothing; the worker then refuses every response head as "not
// captured" instead of delivering decoded values. read_tap_active() tells which case holds.
#pragma once

#include <cstddef>

namespace fetchpipe::detail {

class ReadTap {
 public:
  // Bytes cpp-httplib consumed from the response (never peeked bytes, never ciphertext). Return
  // false to make that read fail: the exchange was stopped.
  virtual bool on_response_bytes(const char* data, std::size_t size) = 0;
  // cpp-httplib wrote request bytes (after connecting and, for https, the handshake).
  virtual void on_request_bytes() = 0;

 protected:
  ~ReadTap() = default;
};

// Installs `tap` for the calling thread while in scope. `tls` says which layer carries the
// exchange's plaintext: SSL_read/SSL_write (true) or recv/send (false); the other is ignored.
class ScopedReadTap {
 public:
  ScopedReadTap(ReadTap& tap, bool tls);
  ~ScopedReadTap();
  ScopedReadTap(const ScopedReadTap&) = delete;
  ScopedReadTap& operator=(const ScopedReadTap&) = delete;
};

// Suspends the calling thread's tap while in scope, around code that is not cpp-httplib's (the
// observer's callbacks run inside cpp-httplib's send() and may use sockets of their own).
class PausedReadTap {
 public:
  PausedReadTap();
  ~PausedReadTap();
  PausedReadTap(const PausedReadTap&) = delete;
  PausedReadTap& operator=(const PausedReadTap&) = delete;

 private:
  ReadTap* tap_;
  bool tls_;
};

// True when the process's recv, send, SSL_read and SSL_write resolve to the interposed ones.
[[nodiscard]] bool read_tap_active();

}  // namespace fetchpipe::detail
