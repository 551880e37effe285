#include "reactor/timer_wheel.hpp"

#include <bit>

#include "reactor/assert.hpp"

namespace pylon::reactor {
namespace {

constexpr int slot_bits = 6;
constexpr std::uint64_t slot_mask = 63;

constexpr std::int64_t level_span_ms(int level) noexcept {
    return std::int64_t{1} << (slot_bits * level);
}

// The level whose slot width separates `when` from `elapsed`: the highest differing bit.
int level_for(std::int64_t elapsed, std::int64_t when) noexcept {
    std::uint64_t masked =
        (static_cast<std::uint64_t>(elapsed) ^ static_cast<std::uint64_t>(when)) | slot_mask;
    int significant = 63 - std::countl_zero(masked);
    int level = significant / slot_bits;
    return level < TimerWheel::levels ? level : TimerWheel::levels - 1;
}

}  // namespace

TimerNode::~TimerNode() {
    PYLON_ASSERT_MSG(wheel == nullptr, "TimerNode destroyed while armed");
}

TimerWheel::~TimerWheel() {
    // Detach what is left so the nodes' destructors do not assert (their owners are going away
    // with the shard).
    for (TimerNode* n = firing_.head; n != nullptr; n = n->next) {
        n->wheel = nullptr;
    }
    for (auto& level : slots_) {
        for (Slot& s : level) {
            for (TimerNode* n = s.head; n != nullptr;) {
                TimerNode* next = n->next;
                n->wheel = nullptr;
                n->prev = n->next = nullptr;
                n = next;
            }
            s.head = nullptr;
        }
    }
}

void TimerWheel::arm(TimerNode* node, std::int64_t deadline_ms) noexcept {
    PYLON_ASSERT(node != nullptr && node->fire != nullptr);
    if (node->wheel != nullptr) {
        PYLON_ASSERT(node->wheel == this);
        unlink(node);
        count_--;
        if (node->deadline_ms <= cached_next_ms_) {
            cache_valid_ = false;
        }
    }
    node->deadline_ms = deadline_ms;
    node->wheel = this;
    insert(node);
    count_++;
    if (cache_valid_ && deadline_ms < cached_next_ms_) {
        cached_next_ms_ = deadline_ms < elapsed_ms_ ? elapsed_ms_ : deadline_ms;
    }
}

void TimerWheel::cancel(TimerNode* node) noexcept {
    if (node->wheel == nullptr) {
        return;
    }
    PYLON_ASSERT(node->wheel == this);
    unlink(node);
    node->wheel = nullptr;
    count_--;
    if (node->deadline_ms <= cached_next_ms_) {
        cache_valid_ = false;
    }
}

void TimerWheel::insert(TimerNode* node) noexcept {
    std::int64_t when = node->deadline_ms < elapsed_ms_ ? elapsed_ms_ : node->deadline_ms;
    int level = level_for(elapsed_ms_, when);
    int slot =
        static_cast<int>((static_cast<std::uint64_t>(when) >> (slot_bits * level)) & slot_mask);
    node->level = static_cast<std::uint8_t>(level);
    node->slot = static_cast<std::uint8_t>(slot);
    Slot& s = slots_[level][slot];
    node->prev = nullptr;
    node->next = s.head;
    if (s.head != nullptr) {
        s.head->prev = node;
    }
    s.head = node;
    occupied_[level] |= std::uint64_t{1} << slot;
}

void TimerWheel::unlink(TimerNode* node) noexcept {
    Slot& s = node->level == firing_level ? firing_ : slots_[node->level][node->slot];
    if (node->prev != nullptr) {
        node->prev->next = node->next;
    } else {
        PYLON_ASSERT(s.head == node);
        s.head = node->next;
    }
    if (node->next != nullptr) {
        node->next->prev = node->prev;
    }
    node->prev = node->next = nullptr;
    if (s.head == nullptr && node->level != firing_level) {
        occupied_[node->level] &= ~(std::uint64_t{1} << node->slot);
    }
}

bool TimerWheel::next_slot(int& level, int& slot, std::int64_t& slot_start_ms) const noexcept {
    for (int l = 0; l < levels; l++) {
        if (occupied_[l] == 0) {
            continue;
        }
        int pos = static_cast<int>((static_cast<std::uint64_t>(elapsed_ms_) >> (slot_bits * l)) &
                                   slot_mask);
        // Timers on level l lie in the current level-(l+1) block, at or after `pos`.
        std::uint64_t ahead = occupied_[l] >> pos;
        if (ahead == 0) {
            continue;  // cannot happen for well-formed state, but stay safe
        }
        int s = pos + std::countr_zero(ahead);
        std::int64_t block = level_span_ms(l + 1);
        std::int64_t level_start = l + 1 < levels ? (elapsed_ms_ & ~(block - 1)) : 0;
        level = l;
        slot = s;
        slot_start_ms = level_start + static_cast<std::int64_t>(s) * level_span_ms(l);
        if (slot_start_ms < elapsed_ms_) {
            slot_start_ms = elapsed_ms_;
        }
        return true;
    }
    return false;
}

std::int64_t TimerWheel::next_deadline_ms() const noexcept {
    if (cache_valid_) {
        return cached_next_ms_;
    }
    int level = 0;
    int slot = 0;
    std::int64_t start = 0;
    std::int64_t best = never;
    if (next_slot(level, slot, start)) {
        // The lowest occupied level holds the earliest deadlines; within it, the first slot.
        for (TimerNode* n = slots_[level][slot].head; n != nullptr; n = n->next) {
            std::int64_t d = n->deadline_ms < elapsed_ms_ ? elapsed_ms_ : n->deadline_ms;
            best = d < best ? d : best;
        }
    }
    cached_next_ms_ = best;
    cache_valid_ = true;
    return best;
}

std::uint64_t TimerWheel::advance(std::int64_t now_ms) noexcept {
    std::uint64_t fired = 0;
    for (;;) {
        int level = 0;
        int slot = 0;
        std::int64_t start = 0;
        if (!next_slot(level, slot, start) || start > now_ms) {
            break;
        }
        elapsed_ms_ = start;
        cache_valid_ = false;
        // Move the slot's list to firing_ so that callbacks may cancel or re-arm any node.
        Slot& s = slots_[level][slot];
        firing_.head = s.head;
        s.head = nullptr;
        occupied_[level] &= ~(std::uint64_t{1} << slot);
        for (TimerNode* n = firing_.head; n != nullptr; n = n->next) {
            n->level = firing_level;
        }
        while (firing_.head != nullptr) {
            TimerNode* node = firing_.head;
            unlink(node);
            if (node->deadline_ms <= now_ms) {
                node->wheel = nullptr;
                count_--;
                fired++;
                node->fire(node);
            } else {
                insert(node);  // cascade to a finer level
            }
        }
    }
    if (now_ms > elapsed_ms_) {
        elapsed_ms_ = now_ms;
    }
    cache_valid_ = false;
    return fired;
}

}  // namespace pylon::reactor
