// easy_pool.hpp — libcurl easy handles kept for reuse, owned by the event-loop thread.
//
// Creating an easy handle costs allocations and, on first use, a 16 KiB receive buffer; reusing
// one after curl_easy_reset() costs neither. Connections do not live here but in each multi
// handle's cache, so a pooled handle may serve any shard. Reuse happens only on libcurl 8.4 or
// later: older versions carry a dangling header pointer across a reset (see easy_pool.cpp).
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <vector>

namespace fetchpipe::detail {

// One easy handle and what must live exactly as long as a transfer on it.
struct EasyHandle {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;   // owned when not a shared static list; see owns_headers
  bool owns_headers = false;
  char error[CURL_ERROR_SIZE] = {};
};

class EasyPool {
 public:
  explicit EasyPool(std::size_t max_pooled) : max_pooled_(max_pooled) {}
  ~EasyPool() { clear(); }
  EasyPool(const EasyPool&) = delete;
  EasyPool& operator=(const EasyPool&) = delete;

  // A reset handle with an empty error buffer; nullptr when libcurl cannot make one.
  [[nodiscard]] EasyHandle* acquire();
  // Resets the handle (options back to defaults, per-transfer header list freed) and keeps it,
  // or frees it when the pool is full. The handle must not be in a multi handle any more.
  void release(EasyHandle* handle) noexcept;
  // Frees every pooled handle.
  void clear() noexcept;

 private:
  static void destroy(EasyHandle* handle) noexcept;

  std::size_t max_pooled_;
  std::vector<EasyHandle*> free_;
};

}  // namespace fetchpipe::detail
