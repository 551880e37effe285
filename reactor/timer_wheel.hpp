// TimerWheel: the per-shard timer set. A hierarchical wheel of 6 levels x 64 slots with 1 ms
// resolution at level 0 (level L slots are 64^L ms wide; about 2 years of range). Arm and cancel
// are O(1); timers far away cascade to finer levels as time approaches them. The shard passes
// next_deadline_ms() as the timeout of its io_uring wait, so an idle shard wakes only when a
// timer is due (no periodic tick). Timers are intrusive TimerNodes owned by their users (an
// operation, a connection); a node must be cancelled before it is destroyed. One shard only.
#pragma once

#include <cstdint>
#include <limits>

namespace pylon::reactor {

class TimerWheel;

struct TimerNode {
    using Fire = void (*)(TimerNode*);

    explicit TimerNode(Fire fire_fn = nullptr, void* context_in = nullptr) noexcept
        : fire(fire_fn), context(context_in) {}
    TimerNode(const TimerNode&) = delete;
    TimerNode& operator=(const TimerNode&) = delete;
    ~TimerNode();

    bool armed() const noexcept { return wheel != nullptr; }
    std::int64_t deadline() const noexcept { return deadline_ms; }

    Fire fire;
    void* context;  // for the fire function (usually the owning object)
    // Owned by the wheel while armed.
    TimerNode* prev = nullptr;
    TimerNode* next = nullptr;
    TimerWheel* wheel = nullptr;
    std::int64_t deadline_ms = 0;
    std::uint8_t level = 0;
    std::uint8_t slot = 0;
};

class TimerWheel {
  public:
    static constexpr int levels = 6;
    static constexpr int slots_per_level = 64;
    static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

    explicit TimerWheel(std::int64_t now_ms) noexcept : elapsed_ms_(now_ms) {}
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;
    ~TimerWheel();

    // Arms (or re-arms) `node` to fire at `deadline_ms` (a time in the past fires at the next
    // advance). The node's fire function runs from advance().
    void arm(TimerNode* node, std::int64_t deadline_ms) noexcept;
    void cancel(TimerNode* node) noexcept;

    // Fires every timer whose deadline is <= now_ms (in deadline order, per slot), including
    // timers armed by fire callbacks that are already due. Returns the number fired.
    std::uint64_t advance(std::int64_t now_ms) noexcept;

    // The earliest armed deadline, or `never`. Exact (not a slot boundary).
    std::int64_t next_deadline_ms() const noexcept;

    std::uint64_t size() const noexcept { return count_; }
    std::int64_t elapsed_ms() const noexcept { return elapsed_ms_; }

  private:
    struct Slot {
        TimerNode* head = nullptr;
    };

    void insert(TimerNode* node) noexcept;
    void unlink(TimerNode* node) noexcept;
    // Finds the first occupied (level, slot) at or after the current position; false if empty.
    bool next_slot(int& level, int& slot, std::int64_t& slot_start_ms) const noexcept;

    static constexpr std::uint8_t firing_level = 0xff;  // node is in firing_, being expired

    Slot slots_[levels][slots_per_level];
    Slot firing_;  // the slot being expired by advance(); cancel() may unlink from it
    std::uint64_t occupied_[levels] = {};
    std::int64_t elapsed_ms_;
    std::uint64_t count_ = 0;
    mutable std::int64_t cached_next_ms_ = never;
    mutable bool cache_valid_ = true;
};

}  // namespace pylon::reactor
