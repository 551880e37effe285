// DedupCache: the request ids a shard has already taken in, so the same job request delivered by
// three relays (or replayed after a reconnect) is verified and run once. It is the fast path in
// front of the store's exact check (the store refuses a request id it has recorded), so it only
// has to cover the acceptance window: intake drops requests whose created_at is older than
// request_age_max_s (or further ahead than request_future_max_s) before asking here, and at start
// the cache is filled from the store's processed-request table for that window.
//
// Compact: each id is remembered as its first 8 bytes (a 64-bit fingerprint of a SHA-256 output;
// a false "duplicate" needs a 64-bit prefix collision with an id seen in the window, about
// entries / 2^64 per request) in an open-addressing table (linear probing, slot index mixed with
// a per-instance random seed, load kept at or under 1/2, backward-shift deletion so there are no
// tombstones) plus a ring of the same fingerprints in arrival order for FIFO eviction. Both grow
// on demand up to `entries_max` (oldest forgotten first): 8 B in the ring plus 8 B / load in the
// table, 24 to 40 B per entry (bytes_held() tells). One shard only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pylon::engine {

class DedupCache {
  public:
    using Id = std::array<std::uint8_t, 32>;

    explicit DedupCache(std::size_t entries_max = 100'000);

    // True if `id` was new (and is now remembered); false for a duplicate.
    bool insert(const Id& id);
    bool contains(const Id& id) const;
    // Forgets `id` (a request taken in but left for the relay to send again), so its next
    // delivery is not a duplicate. Its fingerprint stays in the ring until its turn to be
    // evicted comes: if the id was inserted again by then, it is forgotten early (the store's
    // exact check still stops a second run). True if it was remembered.
    bool forget(const Id& id);
    std::size_t size() const noexcept { return size_; }
    std::size_t entries_max() const noexcept { return entries_max_; }
    std::uint64_t evicted() const noexcept { return evicted_; }
    // Memory held by the table and the ring (their capacities), in bytes.
    std::size_t bytes_held() const noexcept;

  private:
    static constexpr std::uint64_t empty_slot = 0;
    static constexpr std::size_t table_slots_min = 1024;

    static std::uint64_t fingerprint(const Id& id) noexcept;
    std::size_t home_slot(std::uint64_t fp) const noexcept;
    std::size_t find(std::uint64_t fp) const noexcept;  // slot, or table_.size() when absent
    void place(std::uint64_t fp) noexcept;
    void erase(std::uint64_t fp) noexcept;
    void grow();

    std::size_t entries_max_;
    std::size_t table_slots_max_;
    std::uint64_t seed_;
    std::vector<std::uint64_t> table_;  // power-of-two size; empty_slot = free
    std::vector<std::uint64_t> ring_;   // arrival order; circular once entries_max_ long
    std::size_t oldest_ = 0;            // ring index of the oldest entry once circular
    std::size_t size_ = 0;
    std::uint64_t evicted_ = 0;
};

}  // namespace pylon::engine
