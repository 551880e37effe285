#include "engine/dedup_cache.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

#include "reactor/assert.hpp"

namespace pylon::engine {

namespace {

// A 64-bit finaliser (splitmix64's): spreads the seeded fingerprint over the slot bits, so a
// sender cannot aim ids at one probe chain by grinding their low bits.
std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

std::uint64_t random_seed() {
    std::random_device rd;  // does not throw on Linux (getrandom)
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

DedupCache::DedupCache(std::size_t entries_max)
    : entries_max_(entries_max),
      table_slots_max_(std::bit_ceil(entries_max * 2)),
      seed_(random_seed()) {
    PYLON_ASSERT(entries_max_ > 0);
    table_.assign(std::min(table_slots_min, table_slots_max_), empty_slot);
}

std::uint64_t DedupCache::fingerprint(const Id& id) noexcept {
    std::uint64_t fp = 0;
    std::memcpy(&fp, id.data(), sizeof fp);  // event ids are SHA-256 outputs: uniform
    return fp == empty_slot ? 1 : fp;
}

std::size_t DedupCache::home_slot(std::uint64_t fp) const noexcept {
    return static_cast<std::size_t>(mix(fp ^ seed_)) & (table_.size() - 1);
}

std::size_t DedupCache::find(std::uint64_t fp) const noexcept {
    std::size_t mask = table_.size() - 1;
    for (std::size_t i = home_slot(fp);; i = (i + 1) & mask) {
        if (table_[i] == fp) {
            return i;
        }
        if (table_[i] == empty_slot) {
            return table_.size();
        }
    }
}

void DedupCache::place(std::uint64_t fp) noexcept {
    std::size_t mask = table_.size() - 1;
    std::size_t i = home_slot(fp);
    while (table_[i] != empty_slot) {
        i = (i + 1) & mask;
    }
    table_[i] = fp;
}

// Linear probing without tombstones: later members of the chain move back into the hole
// unless their home slot lies cyclically in (hole, their slot].
void DedupCache::erase(std::uint64_t fp) noexcept {
    std::size_t hole = find(fp);
    if (hole == table_.size()) {
        return;
    }
    std::size_t mask = table_.size() - 1;
    table_[hole] = empty_slot;
    for (std::size_t j = (hole + 1) & mask; table_[j] != empty_slot; j = (j + 1) & mask) {
        std::size_t home = home_slot(table_[j]);
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            table_[hole] = table_[j];
            table_[j] = empty_slot;
            hole = j;
        }
    }
}

void DedupCache::grow() {
    std::vector<std::uint64_t> old(table_.size() * 2, empty_slot);
    old.swap(table_);
    for (std::uint64_t fp : old) {
        if (fp != empty_slot) {
            place(fp);
        }
    }
}

bool DedupCache::insert(const Id& id) {
    std::uint64_t fp = fingerprint(id);
    if (find(fp) != table_.size()) {
        return false;
    }
    if (size_ == entries_max_) {
        erase(ring_[oldest_]);
        ring_[oldest_] = fp;
        oldest_ = (oldest_ + 1) % entries_max_;
        evicted_++;
    } else {
        if ((size_ + 1) * 2 > table_.size() && table_.size() < table_slots_max_) {
            grow();
        }
        if (ring_.size() == ring_.capacity()) {
            ring_.reserve(std::min(entries_max_, std::max<std::size_t>(64, ring_.size() * 2)));
        }
        ring_.push_back(fp);
        size_++;
    }
    place(fp);
    return true;
}

bool DedupCache::forget(const Id& id) {
    std::uint64_t fp = fingerprint(id);
    if (find(fp) == table_.size()) {
        return false;
    }
    erase(fp);
    return true;
}

bool DedupCache::contains(const Id& id) const {
    return find(fingerprint(id)) != table_.size();
}

std::size_t DedupCache::bytes_held() const noexcept {
    return (table_.capacity() + ring_.capacity()) * sizeof(std::uint64_t);
}

}  // namespace pylon::engine
