// BufferRing: a shard's provided-buffer ring (io_uring buffer group) for multishot receives, and
// Buffer, the move-only handle to one received buffer. The kernel picks a free buffer for each
// receive; the CQE names it; the shard wraps it in a Buffer, and dropping the Buffer gives it
// back to the kernel. Each buffer has `padding_bytes` of slack after its capacity that the
// kernel never writes, so JSON can be parsed in place (simdjson needs 64 bytes of padding).
// Running dry makes multishot receives end with -ENOBUFS: that is flow control, and streams
// that hit it wait in a re-arm list until about half of the buffers are back.
// The ring starts with `buffer_count_initial` buffers provided and grows (doubling, up to
// `buffer_count`) when a take leaves a quarter of them or fewer with the kernel, or when a
// stream runs dry: the kernel uses provided buffers in ring order, so every provided buffer
// becomes resident after as many receives, and an idle node (a few keep-alive frames) should
// hold a few, not all (issue 8: idle RSS). All of `buffer_count` is reserved (address space
// only) at creation. After a burst it shrinks back: once every buffer is back and no take has
// pressed on the ring for `shrink_after_ms`, buffers above `buffer_count_initial` are kept
// (parked) instead of given back to the kernel as they return, and when all of them are parked
// their pages are released (MADV_DONTNEED: they were in no kernel ring and no Buffer). Any
// pressure before that puts the parked ones back at once.
// Owned by one shard; Buffers must be dropped on that shard's thread.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "reactor/assert.hpp"
#include "reactor/result.hpp"

namespace pylon::reactor {

class BufferRing;

class Buffer {
  public:
    Buffer() noexcept = default;
    Buffer(BufferRing* ring, std::uint16_t bid, std::uint32_t size) noexcept
        : ring_(ring), bid_(bid), size_(size) {}
    Buffer(Buffer&& other) noexcept
        : ring_(std::exchange(other.ring_, nullptr)),
          heap_(std::exchange(other.heap_, nullptr)),
          bid_(other.bid_),
          size_(other.size_) {}
    Buffer& operator=(Buffer&& other) noexcept {
        if (this != &other) {
            reset();
            ring_ = std::exchange(other.ring_, nullptr);
            heap_ = std::exchange(other.heap_, nullptr);
            bid_ = other.bid_;
            size_ = other.size_;
        }
        return *this;
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { reset(); }

    // A ring buffer's bytes copied to the heap, with its ring's padding (zeroed) after them,
    // and the ring buffer given back: for data that has to wait while the ring runs short
    // (RecvStream spills a stalled reader's chunks). The copy still counts against its ring
    // (BufferRing::spilled_bytes) until it is dropped. `from` must be in the ring.
    static Buffer copied_out(Buffer&& from);

    explicit operator bool() const noexcept { return ring_ != nullptr; }
    bool in_ring() const noexcept { return ring_ != nullptr && heap_ == nullptr; }
    std::uint8_t* data() const noexcept;
    std::size_t size() const noexcept { return size_; }
    std::span<const std::uint8_t> bytes() const noexcept { return {data(), size_}; }
    std::uint16_t bid() const noexcept { return bid_; }

    // Returns the buffer to the ring (or frees its heap copy) now.
    void reset() noexcept;

  private:
    BufferRing* ring_ = nullptr;
    std::uint8_t* heap_ = nullptr;  // a copied_out buffer (size_ + padding bytes); ring_ kept
    std::uint16_t bid_ = 0;
    std::uint32_t size_ = 0;
};

// A stream waiting for buffers after -ENOBUFS.
struct RearmWaiter {
    using Fn = void (*)(RearmWaiter*);
    explicit RearmWaiter(Fn fn_in = nullptr, void* context_in = nullptr) noexcept
        : fn(fn_in), context(context_in) {}
    Fn fn;
    void* context;
    RearmWaiter* next = nullptr;
    bool waiting = false;
};

struct BufferRingOptions {
    std::uint32_t buffer_count = 256;         // power of two, <= 32768: the most it grows to
    std::uint32_t buffer_count_initial = 16;  // provided at creation (capped at buffer_count)
    std::int64_t shrink_after_ms = 10'000;    // calm needed before shrinking back to initial
    std::uint32_t buffer_bytes = 4096;        // what the kernel may fill
    std::uint32_t padding_bytes = 64;         // slack after each buffer (simdjson padding)
    std::uint16_t group_id = 0;
    // A RecvStream whose reader falls behind copies its queued chunks out when the ring runs
    // short (recv_stream.hpp), while the shard's copies stay under spill_bytes_max. Off only in
    // tests that study the ring running dry.
    bool spill_when_short = true;
    std::size_t spill_bytes_max = 4 * 1024 * 1024;
};

class BufferRing {
  public:
    static Result<BufferRing*> create(io_uring* ring, const BufferRingOptions& options);
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;
    ~BufferRing();

    std::uint16_t group_id() const noexcept { return options_.group_id; }
    std::uint32_t buffer_bytes() const noexcept { return options_.buffer_bytes; }
    std::uint32_t buffer_count() const noexcept { return options_.buffer_count; }
    std::uint32_t padding_bytes() const noexcept { return options_.padding_bytes; }
    // May another `bytes` be copied out of the ring (spill_when_short, under spill_bytes_max)?
    bool may_spill(std::size_t bytes) const noexcept {
        return options_.spill_when_short && spilled_bytes_ + bytes <= options_.spill_bytes_max;
    }
    // Bytes of copied_out Buffers alive now.
    std::size_t spilled_bytes() const noexcept { return spilled_bytes_; }
    // Buffers in play: with the kernel or held (grows up to buffer_count(), shrinks back).
    std::uint32_t provided() const noexcept { return provided_; }
    std::uint64_t shrinks() const noexcept { return shrinks_; }
    // Buffers the kernel may use right now.
    std::uint32_t available() const noexcept { return available_; }
    // Buffers held by Buffers (taken, not given back yet).
    std::uint32_t held() const noexcept { return provided_ - available_ - parked_count_; }
    std::uint64_t enobufs_count() const noexcept { return enobufs_; }

    // Wraps the buffer a CQE selected (IORING_CQE_F_BUFFER set) into a handle.
    Buffer take(std::uint32_t cqe_flags, std::int32_t length) noexcept;
    std::uint8_t* address(std::uint16_t bid) const noexcept {
        return memory_ + static_cast<std::size_t>(bid) * stride_;
    }

    // A stream whose multishot ended with -ENOBUFS waits here; `waiter->fn` runs once about
    // half of the buffers are back (or at once if they already are).
    void wait_for_buffers(RearmWaiter* waiter) noexcept;
    void cancel_wait(RearmWaiter* waiter) noexcept;

  private:
    friend class Buffer;
    BufferRing(io_uring* ring, const BufferRingOptions& options) noexcept
        : ring_(ring), options_(options) {}
    void give_back(std::uint16_t bid) noexcept;
    void notify_waiters() noexcept;
    // Provides up to as many new buffers again as are provided now (none at buffer_count).
    void grow() noexcept;
    // Hands buffers provided_ .. provided_ + count - 1 to the kernel.
    void provide(std::uint32_t count) noexcept;
    void add_to_kernel(std::uint16_t bid) noexcept;
    // Pressure: gives the parked buffers back to the kernel and ends the shrink.
    void cancel_shrink() noexcept;
    // A buffer above the initial count came back during a shrink: keep it; the last one
    // releases their pages.
    void park(std::uint16_t bid) noexcept;
    io_uring* ring_;
    BufferRingOptions options_;
    io_uring_buf_ring* br_ = nullptr;
    std::size_t br_bytes_ = 0;
    std::uint8_t* memory_ = nullptr;
    std::size_t memory_bytes_ = 0;
    std::size_t stride_ = 0;
    std::uint32_t provided_ = 0;
    std::uint32_t available_ = 0;
    std::uint64_t enobufs_ = 0;
    std::uint64_t shrinks_ = 0;
    std::int64_t pressed_ms_ = 0;      // last time a take left a quarter or fewer (monotonic)
    std::uint32_t shrink_to_ = 0;      // 0: not shrinking; else the count it shrinks to
    std::uint16_t* parked_ = nullptr;  // bids kept back during a shrink (buffer_count slots)
    std::uint32_t parked_count_ = 0;
    std::size_t spilled_bytes_ = 0;
    RearmWaiter* waiters_ = nullptr;
    bool registered_ = false;
};

inline std::uint8_t* Buffer::data() const noexcept {
    return heap_ != nullptr ? heap_ : ring_ != nullptr ? ring_->address(bid_) : nullptr;
}

inline void Buffer::reset() noexcept {
    if (ring_ == nullptr) {
        return;
    }
    if (heap_ != nullptr) {
        ring_->spilled_bytes_ -= size_;
        delete[] std::exchange(heap_, nullptr);
    } else {
        ring_->give_back(bid_);
    }
    ring_ = nullptr;
}

}  // namespace pylon::reactor
