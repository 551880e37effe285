// DedupCache: the request ids a shard has already taken in, so the same job request delivered by
// three relays (or replayed after a reconnect) runs once. It is exact within its horizon: intake
// refuses requests whose created_at is older than the acceptance window before asking here, and at
// start-up the cache is filled from the store's processed-request table for that window, so
// nothing that can still be accepted is missing from it. Bounded by `entries_max` (oldest
// forgotten first); sized by the operator as window x peak rate. One shard only.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace pylon::engine {

class DedupCache {
  public:
    using Id = std::array<std::uint8_t, 32>;

    explicit DedupCache(std::size_t entries_max = 200'000);

    // True if `id` was new (and is now remembered); false for a duplicate.
    bool insert(const Id& id);
    bool contains(const Id& id) const;
    std::size_t size() const noexcept { return set_.size(); }
    std::uint64_t evicted() const noexcept { return evicted_; }

  private:
    struct IdHash {
        std::size_t operator()(const Id& id) const noexcept;
    };
    std::size_t entries_max_;
    std::unordered_set<Id, IdHash> set_;
    std::deque<Id> order_;
    std::uint64_t evicted_ = 0;
};

}  // namespace pylon::engine
