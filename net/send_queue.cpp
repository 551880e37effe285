#include "net/send_queue.hpp"

#include <algorithm>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::net {

SendQueue::SendQueue(std::size_t queue_bytes_max, std::size_t overshoot_bytes_max)
    : queue_bytes_max_(queue_bytes_max),
      overshoot_bytes_max_(overshoot_bytes_max),
      ring_((queue_bytes_max + overshoot_bytes_max) / chunk_bytes + 3) {
    PYLON_ASSERT(queue_bytes_max > 0);
}

SendQueue::Chunk SendQueue::new_chunk() {
    Chunk c;
    if (!free_.empty()) {
        c.data = std::move(free_.back());
        free_.pop_back();
    } else {
        c.data = std::make_unique<std::uint8_t[]>(chunk_bytes);
    }
    return c;
}

void SendQueue::push_chunk() {
    PYLON_ASSERT(count_ < ring_.size());
    at(count_) = new_chunk();
    count_++;
}

void SendQueue::pop_chunk() {
    PYLON_ASSERT(count_ > 0);
    Chunk& c = at(0);
    if (free_.size() < free_chunks_max) {
        free_.push_back(std::move(c.data));
    }
    c = Chunk{};
    head_ = (head_ + 1) % ring_.size();
    count_--;
}

std::size_t SendQueue::append(std::span<const std::uint8_t> bytes) {
    return copy_in(bytes.subspan(0, std::min(bytes.size(), room_bytes())));
}

bool SendQueue::append_overshoot(std::span<const std::uint8_t> bytes) {
    if (size_bytes_ + bytes.size() > queue_bytes_max_ + overshoot_bytes_max_) {
        return false;
    }
    copy_in(bytes);
    return true;
}

std::size_t SendQueue::copy_in(std::span<const std::uint8_t> bytes) {
    std::size_t todo = bytes.size();
    std::size_t done = 0;
    while (done < todo) {
        if (count_ == 0 || at(count_ - 1).end == chunk_bytes) {
            push_chunk();
        }
        Chunk& tail = at(count_ - 1);
        std::size_t n = std::min(todo - done, chunk_bytes - tail.end);
        std::memcpy(tail.data.get() + tail.end, bytes.data() + done, n);
        tail.end += n;
        done += n;
    }
    size_bytes_ += done;
    return done;
}

unsigned SendQueue::gather(iovec* iov, unsigned iov_max) const noexcept {
    unsigned n = 0;
    for (std::size_t i = 0; i < count_ && n < iov_max; i++) {
        const Chunk& c = at(i);
        if (c.end > c.begin) {
            iov[n].iov_base = c.data.get() + c.begin;
            iov[n].iov_len = c.end - c.begin;
            n++;
        }
    }
    return n;
}

void SendQueue::consume(std::size_t n) {
    PYLON_ASSERT(n <= size_bytes_);
    size_bytes_ -= n;
    while (n > 0) {
        Chunk& front = at(0);
        std::size_t take = std::min(n, front.end - front.begin);
        front.begin += take;
        n -= take;
        if (front.begin == front.end && (front.end == chunk_bytes || count_ > 1)) {
            pop_chunk();
        }
    }
    if (size_bytes_ == 0 && count_ > 0) {
        at(0).begin = 0;  // reuse the last chunk from its start
        at(0).end = 0;
    }
}

void SendQueue::clear() {
    while (count_ > 0) {
        pop_chunk();
    }
    size_bytes_ = 0;
}

}  // namespace pylon::net
