#include "easy_pool.hpp"

#include <new>

namespace fetchpipe::detail {
namespace {

// libcurl before 8.0 keeps, across curl_easy_reset(), a pointer to the last header of the
// previous transfer (for its headers API); a response whose head then starts with an obs-fold
// line makes it read that freed header (a use-after-free inside libcurl, found by
// fuzz_response_curl under ASan). So a handle is reused only on a libcurl known not to do that;
// on Debian 12's 7.88 every transfer gets a fresh handle.
bool reuse_is_safe() {
  static const bool safe = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080400;
  return safe;
}

}  // namespace

void EasyPool::clear() noexcept {
  for (EasyHandle* handle : free_) destroy(handle);
  free_.clear();
}

EasyHandle* EasyPool::acquire() {
  if (!free_.empty()) {
    EasyHandle* handle = free_.back();
    free_.pop_back();
    return handle;
  }
  auto* handle = new (std::nothrow) EasyHandle;
  if (handle == nullptr) return nullptr;
  handle->curl = curl_easy_init();
  if (handle->curl == nullptr) {
    delete handle;
    return nullptr;
  }
  return handle;
}

void EasyPool::release(EasyHandle* handle) noexcept {
  if (handle->owns_headers) curl_slist_free_all(handle->headers);
  handle->headers = nullptr;
  handle->owns_headers = false;
  handle->error[0] = '\0';
  if (free_.size() >= max_pooled_ || !reuse_is_safe()) {
    destroy(handle);
    return;
  }
  curl_easy_reset(handle->curl);
  try {
    free_.push_back(handle);
  } catch (...) {  // out of memory growing the pool: just free the handle
    destroy(handle);
  }
}

void EasyPool::destroy(EasyHandle* handle) noexcept {
  curl_easy_cleanup(handle->curl);
  if (handle->owns_headers) curl_slist_free_all(handle->headers);
  delete handle;
}

}  // namespace fetchpipe::detail
