#include "tools/fake_http/slot_pool.hpp"

#include <algorithm>
#include <chrono>

#include "tools/fake_http/fake_assert.hpp"

namespace pylon::fake {

SlotPool::SlotPool(int slots) : busy_(static_cast<std::size_t>(slots), false) {
    FAKE_ASSERT(slots > 0);
}

int SlotPool::free_slot_locked() const {
    for (std::size_t i = 0; i < busy_.size(); ++i) {
        if (!busy_[i]) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

int SlotPool::acquire(const std::function<bool()>& keep_waiting, int tick_ms) {
    FAKE_ASSERT(tick_ms > 0);
    std::unique_lock lock(mutex_);
    std::uint64_t ticket = next_ticket_++;
    queue_.push_back(ticket);
    for (;;) {
        int slot = free_slot_locked();
        if (slot >= 0 && queue_.front() == ticket) {
            queue_.pop_front();
            busy_[static_cast<std::size_t>(slot)] = true;
            changed_.notify_all();  // the next in line may find another free slot
            return slot;
        }
        changed_.wait_for(lock, std::chrono::milliseconds(tick_ms));
        lock.unlock();
        bool stay = keep_waiting();
        lock.lock();
        if (!stay) {
            auto it = std::find(queue_.begin(), queue_.end(), ticket);
            FAKE_ASSERT(it != queue_.end());
            queue_.erase(it);
            changed_.notify_all();
            return -1;
        }
    }
}

void SlotPool::release(int slot) {
    std::lock_guard lock(mutex_);
    FAKE_ASSERT(slot >= 0 && static_cast<std::size_t>(slot) < busy_.size());
    FAKE_ASSERT(busy_[static_cast<std::size_t>(slot)]);
    busy_[static_cast<std::size_t>(slot)] = false;
    changed_.notify_all();
}

std::vector<bool> SlotPool::busy() const {
    std::lock_guard lock(mutex_);
    return busy_;
}

int SlotPool::waiting() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(queue_.size());
}

}  // namespace pylon::fake
