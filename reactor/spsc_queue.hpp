// SpscQueue<T>: a bounded single-producer single-consumer queue (the cross-shard mailbox). One
// thread pushes, one other thread pops; both indexes live on their own cache lines and each side
// caches the other's index to avoid cache-line ping-pong. Capacity is fixed at construction
// (a power of two); push fails when full, which the caller turns into backpressure.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "reactor/assert.hpp"

namespace pylon::reactor {

inline constexpr std::size_t cache_line_bytes = 64;

template <typename T>
class SpscQueue {
  public:
    explicit SpscQueue(std::size_t capacity) {
        PYLON_ASSERT_MSG(capacity >= 2 && (capacity & (capacity - 1)) == 0,
                         "SpscQueue capacity must be a power of two >= 2");
        capacity_ = capacity;
        slots_ = std::make_unique<T[]>(capacity);
    }
    SpscQueue(const SpscQueue&) = delete;
    SpscQueue& operator=(const SpscQueue&) = delete;

    std::size_t capacity() const noexcept { return capacity_; }

    // Producer side. Returns false (and leaves `value` untouched) when the queue is full.
    bool try_push(T& value) {
        std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ == capacity_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ == capacity_) {
                return false;
            }
        }
        slots_[tail & (capacity_ - 1)] = std::move(value);
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Producer side: true when a push would fail right now.
    bool full_for_producer() {
        std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ < capacity_) {
            return false;
        }
        head_cache_ = head_.load(std::memory_order_acquire);
        return tail - head_cache_ == capacity_;
    }

    // Consumer side. Returns false when empty.
    bool try_pop(T& out) {
        std::size_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_cache_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head == tail_cache_) {
                return false;
            }
        }
        out = std::move(slots_[head & (capacity_ - 1)]);
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Either side: a racy but safe emptiness check (used before sleeping).
    bool empty_approx() const noexcept {
        return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
    }

  private:
    alignas(cache_line_bytes) std::atomic<std::size_t> head_{0};
    std::size_t tail_cache_ = 0;  // consumer's copy of tail_
    alignas(cache_line_bytes) std::atomic<std::size_t> tail_{0};
    std::size_t head_cache_ = 0;  // producer's copy of head_
    alignas(cache_line_bytes) std::size_t capacity_ = 0;
    std::unique_ptr<T[]> slots_;
};

}  // namespace pylon::reactor
