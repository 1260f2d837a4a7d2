// Private to policies/: per-origin state for the retry budget and the circuit breaker, bounded in
// memory and found without a global lock.
//
// The table is split into shards (a power of two, at most 16, each holding at least 8 origins
// when max_origins allows), each with its
// own mutex, so callers for different origins rarely contend. A shard holds at most
// max_origins / shards origins; a new origin in a full shard replaces the shard's least recently
// used one (its state is forgotten: it starts afresh if it comes back). Finding a known origin
// hashes the string_view and probes an open-addressing index: no allocation. Only a new origin
// allocates (its name, and the entry the first time a slot is filled).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fetchpipe::detail {

template <class State>
class OriginTable {
 public:
  explicit OriginTable(std::size_t max_origins) {
    while (shard_count_ < kMaxShards && shard_count_ * 2 * kMinPerShard <= max_origins) shard_count_ *= 2;
    shards_ = std::make_unique<Shard[]>(shard_count_);
    const std::size_t per_shard = std::max<std::size_t>(1, max_origins / shard_count_);
    std::size_t index_size = 4;
    while (index_size < per_shard * 2) index_size *= 2;  // load factor <= 1/2: short probes
    for (std::size_t i = 0; i < shard_count_; ++i) {
      shards_[i].capacity = per_shard;
      shards_[i].index.assign(index_size, kEmpty);
    }
  }

  // Calls fn(State&) under the origin's shard lock and returns what fn returns. The state is
  // default-constructed the first time the origin is seen (or seen again after eviction).
  template <class Fn>
  decltype(auto) with(std::string_view origin, Fn&& fn) {
    const std::size_t hash = std::hash<std::string_view>{}(origin);
    // The low bits pick the index slot, the high bits the shard, so the two stay independent.
    Shard& shard = shards_[(hash >> 56) & (shard_count_ - 1)];
    std::lock_guard lock(shard.mutex);
    Entry& entry = shard.find_or_insert(origin, hash);
    entry.last_used = ++shard.tick;
    return std::forward<Fn>(fn)(entry.state);
  }

  // Origins currently tracked (for tests and tools).
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      n += shards_[i].entries.size();
    }
    return n;
  }

  // The most origins the table can hold: never more than max_origins.
  [[nodiscard]] std::size_t capacity() const noexcept { return shard_count_ * shards_[0].capacity; }

 private:
  static constexpr std::size_t kMaxShards = 16;
  static constexpr std::size_t kMinPerShard = 8;  // below that, a shard's LRU order means little
  static constexpr std::uint32_t kEmpty = UINT32_MAX;

  struct Entry {
    std::string origin;
    std::size_t hash = 0;
    std::uint64_t last_used = 0;
    State state{};
  };

  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::vector<Entry> entries;
    std::vector<std::uint32_t> index;  // entry positions by hash, linear probing; kEmpty = free
    std::size_t capacity = 1;
    std::uint64_t tick = 0;  // a use counter: the LRU order without reading a clock

    Entry& find_or_insert(std::string_view origin, std::size_t hash) {
      const std::size_t mask = index.size() - 1;
      std::size_t slot = hash & mask;
      for (; index[slot] != kEmpty; slot = (slot + 1) & mask) {
        Entry& e = entries[index[slot]];
        if (e.hash == hash && e.origin == origin) return e;
      }
      if (entries.size() < capacity) {
        entries.push_back(Entry{std::string(origin), hash, 0, State{}});
        index[slot] = static_cast<std::uint32_t>(entries.size() - 1);
        return entries.back();
      }
      // Full: the least recently used entry gives its place. Eviction is rare (only a new origin
      // in a full shard), so the index is simply rebuilt rather than deleted from in place.
      auto victim = std::min_element(entries.begin(), entries.end(),
                                     [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
      victim->origin.assign(origin);
      victim->hash = hash;
      victim->state = State{};
      rebuild_index();
      return *victim;
    }

    void rebuild_index() {
      std::fill(index.begin(), index.end(), kEmpty);
      const std::size_t mask = index.size() - 1;
      for (std::size_t i = 0; i < entries.size(); ++i) {
        std::size_t slot = entries[i].hash & mask;
        while (index[slot] != kEmpty) slot = (slot + 1) & mask;
        index[slot] = static_cast<std::uint32_t>(i);
      }
    }
  };

  std::size_t shard_count_ = 1;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace fetchpipe::detail
