#include "syscalls/plugin/pending.hpp"

namespace vmitrace::syscalls {

PendingTable::PendingTable() : shards_(new Shard[kShards]) {}

uint64_t PendingTable::hash(const PendingKey& k) {
  uint64_t h = k.task * 0x9e3779b97f4a7c15ull ^ (k.frame + 0x632be59bd9b4e019ull + (k.task >> 7));
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 29);
}

bool PendingTable::put(const PendingEntry& e) {
  const uint64_t h = hash(e.key);
  Shard& s = shard_of(h);
  const unsigned home = static_cast<unsigned>((h / kShards) % kSlots);
  std::lock_guard lock(s.mu);
  for (unsigned i = 0; i < kSlots; ++i) {
    PendingEntry& slot = s.slots[(home + i) % kSlots];
    if (!slot.used) {
      slot = e;
      slot.used = true;
      ++s.count;
      if (live_.fetch_add(1, std::memory_order_acq_rel) == 0) notify_watcher();
      return true;
    }
    if (slot.key == e.key) {  // the previous entry of this thread never returned
      slot = e;
      slot.used = true;
      return false;
    }
  }
  // Full shard (thousands of threads blocked in syscalls): evict the home slot.
  PendingEntry& victim = s.slots[home];
  // Evicting breaks no probe chain: the slot stays used.
  victim = e;
  victim.used = true;
  return false;
}

bool PendingTable::take(const PendingKey& key, PendingEntry& out) {
  const uint64_t h = hash(key);
  Shard& s = shard_of(h);
  const unsigned home = static_cast<unsigned>((h / kShards) % kSlots);
  std::lock_guard lock(s.mu);
  unsigned i = 0;
  for (; i < kSlots; ++i) {
    const PendingEntry& slot = s.slots[(home + i) % kSlots];
    if (!slot.used) return false;
    if (slot.key == key) break;
  }
  if (i == kSlots) return false;
  unsigned hole = (home + i) % kSlots;
  out = s.slots[hole];
  // Backward-shift deletion: keeps probe chains intact without tombstones.
  unsigned j = hole;
  // At most one lap: a full shard has no empty slot to stop at.
  for (unsigned step = 1; step < kSlots; ++step) {
    j = (j + 1) % kSlots;
    PendingEntry& next = s.slots[j];
    if (!next.used) break;
    unsigned want = static_cast<unsigned>((hash(next.key) / kShards) % kSlots);
    // Move next into the hole unless its home lies cyclically in (hole, j].
    bool stays = hole <= j ? (want > hole && want <= j) : (want > hole || want <= j);
    if (!stays) {
      s.slots[hole] = next;
      hole = j;
    }
  }
  s.slots[hole].used = false;
  --s.count;
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) notify_watcher();
  return true;
}

void PendingTable::notify_watcher() {
  if (!watcher_) return;
  std::lock_guard lock(watcher_mu_);
  watcher_(live_.load(std::memory_order_acquire) != 0);
}

size_t PendingTable::size() const {
  size_t n = 0;
  for (unsigned i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].count;
  }
  return n;
}

}  // namespace vmitrace::syscalls
