// RingQueue<T>: a single-thread FIFO on a power-of-two circular array. It grows by doubling when
// full and never shrinks, so a warmed-up queue does no allocation. Used for the shard's ready
// queue and similar per-shard lists. Owned and touched by one thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "reactor/assert.hpp"

namespace pylon::reactor {

template <typename T>
class RingQueue {
  public:
    explicit RingQueue(std::size_t initial_capacity = 64) {
        std::size_t cap = 1;
        while (cap < initial_capacity) {
            cap <<= 1;
        }
        slots_ = std::make_unique<T[]>(cap);
        capacity_ = cap;
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }

    void push(T value) {
        if (size_ == capacity_) {
            grow();
        }
        slots_[(head_ + size_) & (capacity_ - 1)] = std::move(value);
        size_++;
    }

    T pop() {
        PYLON_ASSERT(size_ > 0);
        T value = std::move(slots_[head_]);
        head_ = (head_ + 1) & (capacity_ - 1);
        size_--;
        return value;
    }

    // The i-th element from the front.
    T& operator[](std::size_t i) {
        PYLON_ASSERT(i < size_);
        return slots_[(head_ + i) & (capacity_ - 1)];
    }
    T& front() {
        PYLON_ASSERT(size_ > 0);
        return slots_[head_];
    }

  private:
    void grow() {
        std::size_t cap = capacity_ * 2;
        auto next = std::make_unique<T[]>(cap);
        for (std::size_t i = 0; i < size_; i++) {
            next[i] = std::move(slots_[(head_ + i) & (capacity_ - 1)]);
        }
        slots_ = std::move(next);
        capacity_ = cap;
        head_ = 0;
    }

    std::unique_ptr<T[]> slots_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace pylon::reactor
