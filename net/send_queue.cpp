#include "net/send_queue.hpp"

#include <algorithm>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::net {

namespace {

// Set when this thread's spares have been destroyed (thread exit): a queue cleared later, by
// another thread_local or static destructor, frees its chunks instead.
thread_local bool t_spares_gone = false;

struct SpareChunks {
    std::vector<std::unique_ptr<std::uint8_t[]>> chunks;
    ~SpareChunks() { t_spares_gone = true; }
};

// This thread's spare chunks, or null once they have been destroyed.
std::vector<std::unique_ptr<std::uint8_t[]>>* spare_chunks() {
    if (t_spares_gone) {
        return nullptr;
    }
    thread_local SpareChunks spares;
    return &spares.chunks;
}

}  // namespace

SendQueue::SendQueue(std::size_t queue_bytes_max, std::size_t overshoot_bytes_max)
    : queue_bytes_max_(queue_bytes_max),
      overshoot_bytes_max_(overshoot_bytes_max),
      ring_max_((queue_bytes_max + overshoot_bytes_max) / chunk_bytes + 3),
      ring_(std::min<std::size_t>(ring_max_, ring_initial)) {
    PYLON_ASSERT(queue_bytes_max > 0);
}

SendQueue::Chunk SendQueue::new_chunk() {
    Chunk c;
    auto* spares = spare_chunks();
    if (spares != nullptr && !spares->empty()) {
        c.data = std::move(spares->back());
        spares->pop_back();
    } else {
        c.data = std::make_unique<std::uint8_t[]>(chunk_bytes);
    }
    return c;
}

void SendQueue::give_back(std::unique_ptr<std::uint8_t[]> data) {
    auto* spares = spare_chunks();
    if (spares != nullptr && spares->size() < spare_chunks_max) {
        spares->push_back(std::move(data));
    }
}

void SendQueue::push_chunk() {
    if (count_ == ring_.size()) {
        // Grow the ring of chunk records (the chunks' bytes stay where they are, so a gathered
        // iovec stays valid).
        PYLON_ASSERT(count_ < ring_max_);
        std::vector<Chunk> grown(std::min(ring_max_, 2 * ring_.size()));
        for (std::size_t i = 0; i < count_; i++) {
            grown[i] = std::move(at(i));
        }
        ring_ = std::move(grown);
        head_ = 0;
    }
    at(count_) = new_chunk();
    count_++;
}

void SendQueue::pop_chunk() {
    PYLON_ASSERT(count_ > 0);
    Chunk& c = at(0);
    give_back(std::move(c.data));
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
        if (front.begin == front.end) {
            pop_chunk();  // an empty queue holds no chunk (a spare is warm for the next append)
        }
    }
}

void SendQueue::clear() {
    while (count_ > 0) {
        pop_chunk();
    }
    size_bytes_ = 0;
}

}  // namespace pylon::net
