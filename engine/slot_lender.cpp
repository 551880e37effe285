#include "engine/slot_lender.hpp"

#include <algorithm>

#include "reactor/assert.hpp"

namespace pylon::engine {

SlotLender::SlotLender(unsigned shard_count, std::uint32_t capacity, LenderSink* sink)
    : shard_count_(shard_count),
      capacity_(capacity),
      sink_(sink),
      leased_(shard_count, 0),
      wants_(shard_count, false),
      recall_sent_(shard_count, false) {
    PYLON_ASSERT(shard_count_ > 0 && sink_ != nullptr);
}

void SlotLender::request(unsigned shard) {
    PYLON_ASSERT(shard < shard_count_);
    if (!wants_[shard]) {
        wants_[shard] = true;
        wanting_.push_back(shard);
    }
    serve();
}

void SlotLender::withdraw(unsigned shard) {
    PYLON_ASSERT(shard < shard_count_);
    if (wants_[shard]) {
        wants_[shard] = false;
        wanting_.erase(std::find(wanting_.begin(), wanting_.end(), shard));
    }
    serve();
}

void SlotLender::give_back(unsigned shard, std::uint32_t n) {
    PYLON_ASSERT(shard < shard_count_);
    PYLON_ASSERT_MSG(leased_[shard] >= n, "a shard returned more slots than it held");
    leased_[shard] -= n;
    leased_total_ -= n;
    serve();
}

void SlotLender::set_capacity(std::uint32_t capacity) {
    capacity_ = capacity;
    serve();
}

bool SlotLender::recalling() const noexcept {
    return std::find(recall_sent_.begin(), recall_sent_.end(), true) != recall_sent_.end();
}

// Grants in request order while slots are free, then brings every shard's recall up to date.
void SlotLender::serve() {
    std::size_t granted = 0;
    while (granted < wanting_.size() && leased_total_ < capacity_) {
        unsigned shard = wanting_[granted++];
        wants_[shard] = false;
        leased_[shard]++;
        leased_total_++;
        grants_++;
        sink_->grant(shard);
    }
    wanting_.erase(wanting_.begin(), wanting_.begin() + static_cast<std::ptrdiff_t>(granted));
    update_recalls();
    PYLON_ASSERT(wanting_.empty() || leased_total_ >= capacity_);
}

// A holder is recalled while leases exceed the capacity or another shard waits; a recall
// already sent stays until neither holds.
void SlotLender::update_recalls() {
    bool over = leased_total_ > capacity_;
    for (unsigned s = 0; s < shard_count_; s++) {
        std::size_t others = wanting_.size() - (wants_[s] ? 1 : 0);
        bool needed = over || others > 0;
        bool desired = needed && (leased_[s] > 0 || recall_sent_[s]);
        if (desired != recall_sent_[s]) {
            recall_sent_[s] = desired;
            sink_->recall(s, desired);
        }
    }
}

}  // namespace pylon::engine
