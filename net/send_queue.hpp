// SendQueue: the bounded queue of bytes a connection has accepted but not yet handed to the
// kernel. Bytes are copied in (append) into owned fixed-size chunks; the sender gathers the
// front of the queue into an iovec array for one sendmsg, and consume() drops what the kernel
// took, so a short write simply leaves the rest at the front. Appending never moves bytes that a
// gathered iovec points to (chunks have a fixed capacity), so the sender may append while a send
// is in flight. Emptied chunks go back to a spare list shared by every queue of the thread
// (bounded: spare_chunks_max), so a warmed-up queue does not allocate, and a connection that
// sends rarely (a backend's keep-alive connection: one request per job, then a long stream in)
// holds no chunk between its sends: a thousand streams held 16 KB each before. Pure data
// structure, one owner (a SocketStream on one shard); the spare list is the calling thread's.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace pylon::net {

class SendQueue {
  public:
    static constexpr std::size_t chunk_bytes = 16 * 1024;
    static constexpr std::size_t spare_chunks_max = 16;  // per thread: 256 KiB
    static constexpr std::size_t ring_initial = 4;       // chunk records; grown on demand

    // queue_bytes_max bounds append(); append_overshoot() may go beyond it by overshoot_bytes_max
    // (for a TLS layer that cannot hold back a record it already encrypted).
    explicit SendQueue(std::size_t queue_bytes_max, std::size_t overshoot_bytes_max = 0);

    std::size_t size_bytes() const noexcept { return size_bytes_; }
    std::size_t room_bytes() const noexcept {
        return size_bytes_ >= queue_bytes_max_ ? 0 : queue_bytes_max_ - size_bytes_;
    }
    std::size_t queue_bytes_max() const noexcept { return queue_bytes_max_; }
    bool empty() const noexcept { return size_bytes_ == 0; }
    // Chunks held now (0 once everything queued was consumed).
    std::size_t chunks_held() const noexcept { return count_; }

    // Copies as much of `bytes` as room_bytes() allows; returns the count copied.
    std::size_t append(std::span<const std::uint8_t> bytes);
    // Copies all of `bytes` if that stays within queue_bytes_max + overshoot_bytes_max.
    bool append_overshoot(std::span<const std::uint8_t> bytes);
    // Points up to iov_max iovecs at the front of the queue; returns how many were filled.
    unsigned gather(iovec* iov, unsigned iov_max) const noexcept;
    // The first n queued bytes were sent: drop them.
    void consume(std::size_t n);
    // Drops everything (after a failure).
    void clear();

  private:
    struct Chunk {
        std::unique_ptr<std::uint8_t[]> data;
        std::size_t begin = 0;
        std::size_t end = 0;
    };
    static Chunk new_chunk();
    static void give_back(std::unique_ptr<std::uint8_t[]> data);
    Chunk& at(std::size_t i) noexcept { return ring_[(head_ + i) % ring_.size()]; }
    const Chunk& at(std::size_t i) const noexcept { return ring_[(head_ + i) % ring_.size()]; }
    void push_chunk();
    void pop_chunk();

    std::size_t copy_in(std::span<const std::uint8_t> bytes);

    std::size_t queue_bytes_max_;
    std::size_t overshoot_bytes_max_;
    std::size_t size_bytes_ = 0;
    std::size_t ring_max_;     // enough chunks for queue_bytes_max_ plus partial ends
    std::vector<Chunk> ring_;  // ring_initial records at first, doubled up to ring_max_
    std::size_t head_ = 0;
    std::size_t count_ = 0;
};

}  // namespace pylon::net
