#include "engine/dedup_cache.hpp"

#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::engine {

DedupCache::DedupCache(std::size_t entries_max) : entries_max_(entries_max) {
    PYLON_ASSERT(entries_max_ > 0);
}

std::size_t DedupCache::IdHash::operator()(const Id& id) const noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, id.data(), sizeof h);  // event ids are SHA-256 outputs: uniform
    return static_cast<std::size_t>(h);
}

bool DedupCache::insert(const Id& id) {
    if (!set_.insert(id).second) {
        return false;
    }
    order_.push_back(id);
    if (order_.size() > entries_max_) {
        set_.erase(order_.front());
        order_.pop_front();
        evicted_++;
    }
    return true;
}

bool DedupCache::contains(const Id& id) const {
    return set_.count(id) != 0;
}

}  // namespace pylon::engine
