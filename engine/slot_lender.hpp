// SlotLender: the one owner of a backend's slots (the generations it runs at once), on shard 0.
// Jobs run on their owner shards, so slots are lent out as leases: a shard asks for one when a
// job of its own waits (at most one request outstanding per shard), keeps a lease while its own
// jobs need it (a finished job hands its slot straight to the next local one: no messages in the
// steady state), and gives leases back when it has no use for them. When a request cannot be
// served because every slot is leased, the lender recalls: every holder gives each slot back as
// soon as it frees, and the lender grants them in request order, until nobody else waits; then
// the recall ends (a shard is never recalled for its own requests). The sum of leases never exceeds
// the capacity (after a capacity drop, leases come back as they free before any new grant). Why
// leases rather than a static share of slots per shard: backends often have fewer slots (1-4) than
// the machine has shards, and requests are not spread evenly over short periods; a lease follows
// the demand at the cost of a few messages when shards compete.
//
// Pure bookkeeping: the grants and recalls go out through a LenderSink (the BackendRegistry
// turns them into cross-shard messages; tests record them). Shard 0 only.
#pragma once

#include <cstdint>
#include <vector>

namespace pylon::engine {

class LenderSink {
  public:
    virtual ~LenderSink() = default;
    virtual void grant(unsigned shard) = 0;            // one more lease for `shard`
    virtual void recall(unsigned shard, bool on) = 0;  // give freed slots back (or stop)
};

class SlotLender {
  public:
    SlotLender(unsigned shard_count, std::uint32_t capacity, LenderSink* sink);

    // `shard` wants one more slot.
    void request(unsigned shard);
    // `shard` no longer needs the slot it asked for (its queue emptied first).
    void withdraw(unsigned shard);
    // `shard` returns n leases.
    void give_back(unsigned shard, std::uint32_t n);
    // The backend's slot count changed (a re-probe; 0 while it is unavailable).
    void set_capacity(std::uint32_t capacity);

    std::uint32_t capacity() const noexcept { return capacity_; }
    std::uint32_t leased() const noexcept { return leased_total_; }
    std::uint32_t leased_by(unsigned shard) const noexcept { return leased_[shard]; }
    std::size_t waiting() const noexcept { return wanting_.size(); }
    bool recalling() const noexcept;
    std::uint64_t grants() const noexcept { return grants_; }

  private:
    void serve();
    void update_recalls();

    unsigned shard_count_;
    std::uint32_t capacity_;
    LenderSink* sink_;
    std::vector<std::uint32_t> leased_;
    std::vector<bool> wants_;        // shard has a request in wanting_
    std::vector<bool> recall_sent_;  // shard was told to recall
    std::vector<unsigned> wanting_;  // request order; at most one entry per shard
    std::uint32_t leased_total_ = 0;
    std::uint64_t grants_ = 0;
};

}  // namespace pylon::engine
