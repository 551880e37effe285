// SlotPool: N generation slots handed out in FIFO order of arrival; waiters beyond N queue
// without bound in count (the connection limit bounds them), like llama-server's deferred tasks.
// A waiter polls its own "keep waiting?" callback every tick so a client that leaves while
// queued gives its place up. Shared by all connection threads; every member locks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace pylon::fake {

class SlotPool {
  public:
    explicit SlotPool(int slots);

    // Blocks until this caller is first in line and a slot is free; returns the slot id. Calls
    // keep_waiting (without the lock) at least every tick_ms while waiting; when it returns
    // false the caller leaves the queue and -1 is returned.
    int acquire(const std::function<bool()>& keep_waiting, int tick_ms);
    void release(int slot);

    // For /slots and /metrics: which slots are busy, and how many callers wait.
    std::vector<bool> busy() const;
    int waiting() const;
    int size() const { return static_cast<int>(busy_.size()); }

  private:
    int free_slot_locked() const;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<bool> busy_;
    std::deque<std::uint64_t> queue_;  // tickets in arrival order
    std::uint64_t next_ticket_ = 0;
};

}  // namespace pylon::fake
