// RecvStream: a multishot receive on one socket into the shard's provided-buffer ring. One SQE
// keeps delivering chunks (Buffers) until EOF, an error, or a stop; the stream queues them
// (bounded by the ring: each queued chunk holds a buffer) and hands them out with next().
// -ENOBUFS ends the kernel's multishot but not the stream: it re-arms once about half of the
// ring's buffers are back, and no data is lost (it stays in the socket). A consumer that stops
// reading therefore exerts TCP backpressure instead of growing memory.
// The ring is the shard's, shared by all its sockets, so one stream may not queue more than
// queued_chunks_max() of its buffers: at that bound it cancels its multishot (pauses) and
// re-arms once its reader has taken half of them. A peer whose reader is busy elsewhere (a
// control client that pipelines requests and never reads the replies) then fills its own
// socket buffer, not the ring every other connection of the shard receives into. Many such
// streams together could still hold the whole ring (16 at a sixteenth each, or more streams a
// little under it): a stream with a backlog (a quarter of its bound queued) that finds a quarter
// of the ring's buffers (at least its own bound) held elsewhere copies its queued chunks to the
// heap and gives the buffers back, so the shard's other sockets keep receiving
// (spilled_chunks()). Such a stream holds its bound plus what the kernel had already delivered
// before its pause took effect (up to its socket's receive buffer: ~45 chunks, ~180 KiB, in
// tests); the copies of a whole shard stay under the ring's spill_bytes_max (4 MiB), beyond
// which streams keep their ring buffers. A lone slow reader keeps its chunks in the ring (no
// copy).
// EOF: the kernel reports it (a CQE with 0), except on Unix stream sockets after the peer's
// shutdown had already woken the receive (Linux 6.17+): there the stream checks for it itself
// whenever the kernel drained the socket (see peer_closed_).
//
// Lifetime: the stream is a Completion the kernel points at while armed. Before destroying it,
// co_await stop() (or read to EOF/error), which waits for the final CQE. Owned by one shard.
#pragma once

#include <coroutine>
#include <cstdint>

#include "reactor/buffer_ring.hpp"
#include "reactor/cancel.hpp"
#include "reactor/ring_queue.hpp"
#include "reactor/shard.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::reactor {

struct RecvChunk {
    Buffer buffer;           // data (non-empty) when error == 0 and !eof
    std::int32_t error = 0;  // -errno: -ETIME (next() timed out), -ECANCELED, or a socket error
    bool eof = false;        // the peer closed its side
    bool ok() const noexcept { return error == 0 && !eof; }
};

class RecvStream final : public Completion {
  public:
    explicit RecvStream(int fd);
    RecvStream(const RecvStream&) = delete;
    RecvStream& operator=(const RecvStream&) = delete;
    ~RecvStream();

    int fd() const noexcept { return fd_; }
    // Arms the multishot receive (idempotent while running).
    void start();
    // True after EOF, an error, or stop(): no more chunks will be queued.
    bool finished() const noexcept { return finished_; }
    std::uint64_t rearms() const noexcept { return rearms_; }
    // Times the stream paused at queued_chunks_max() unread chunks.
    std::uint64_t pauses() const noexcept { return pauses_; }
    std::size_t queued_chunks() const noexcept { return chunks_.size(); }
    // Chunks copied out of a ring running short (see the header paragraph).
    std::uint64_t spilled_chunks() const noexcept { return spilled_chunks_; }
    // A sixteenth of the ring's buffers (16 of 256: 64 KiB), at least 2.
    std::size_t queued_chunks_max() const noexcept { return queued_chunks_max_; }

    class NextAwaiter {
      public:
        NextAwaiter(RecvStream* stream, std::int64_t timeout_ms, CancelToken token) noexcept;
        NextAwaiter(const NextAwaiter&) = delete;
        NextAwaiter& operator=(const NextAwaiter&) = delete;
        ~NextAwaiter();
        bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> h) noexcept;
        RecvChunk await_resume() noexcept;

      private:
        friend class RecvStream;
        static void on_timer(TimerNode* node);
        static void on_cancel(CancelRegistration* reg);
        void wake(std::int32_t error) noexcept;

        RecvStream* stream_;
        std::int64_t timeout_ms_;
        CancelToken token_;
        std::coroutine_handle<> waiter_;
        TimerNode timer_;
        CancelRegistration cancel_reg_;
        std::int32_t wake_error_ = 0;
    };
    // The next chunk. With a timeout or token, a chunk with error -ETIME / -ECANCELED comes back
    // when they fire (the stream itself keeps running).
    NextAwaiter next(std::int64_t timeout_ms = 0, CancelToken token = {}) noexcept {
        return NextAwaiter(this, timeout_ms, token);
    }

    struct StopAwaiter {
        RecvStream* stream;
        bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> h) noexcept;
        void await_resume() const noexcept {}
    };
    // Cancels the multishot receive and waits for its final completion. Queued chunks are
    // released. Safe to call when not running.
    StopAwaiter stop() noexcept { return StopAwaiter{this}; }

  private:
    static void on_cqe_fn(Completion* c, std::int32_t res, std::uint32_t flags);
    static void on_buffers(RearmWaiter* w);
    void arm();
    void finish(std::int32_t error, bool eof);
    void deliver();
    // Another chunk queued: at the bound, stop the kernel filling more of the shard's buffers.
    void pause_if_full() noexcept;
    // A backlog while a quarter of the ring is held elsewhere: the queued chunks move to the
    // heap and their buffers go back to the ring.
    void spill_if_short();
    // A chunk taken by the reader: once half the bound is free again, receive again.
    void resume_if_drained() noexcept;
    bool may_arm() const noexcept { return !stopping_ && !finished_ && !peer_closed_ && !paused_; }
    // For a Unix stream socket the kernel just drained (no IORING_CQE_F_SOCK_NONEMPTY): has the
    // peer shut down its side (or is a socket error pending)? One getsockopt pair per stream,
    // then one MSG_PEEK recv per drained CQE, and only on Unix stream sockets.
    bool drained_after_peer_shutdown() noexcept;

    int fd_;
    Shard* shard_;
    BufferRing* ring_;
    RingQueue<RecvChunk> chunks_{16};
    NextAwaiter* reader_ = nullptr;
    std::coroutine_handle<> stop_waiter_;
    RearmWaiter rearm_;
    std::size_t queued_chunks_max_;
    std::size_t spill_backlog_;  // queued chunks from which spill_if_short() looks at the ring
    std::uint64_t rearms_ = 0;
    std::uint64_t pauses_ = 0;
    std::uint64_t spilled_chunks_ = 0;
    bool paused_ = false;  // at queued_chunks_max_: the multishot is cancelled (or being cancelled)
    bool pause_cancel_sent_ = false;  // until the armed receive's final CQE
    bool armed_ = false;              // the kernel holds our multishot SQE
    bool started_ = false;
    bool stopping_ = false;
    bool finished_ = false;
    // Set when a Unix stream socket was found drained and shut down by the peer while our
    // multishot receive was armed. Since Linux 6.17 (SO_INQ for AF_UNIX) the kernel then sees
    // "0 bytes queued" and waits for a wakeup that already came (the peer's shutdown): the EOF
    // CQE never arrives (liburing#1549; TCP reports the FIN as 1 byte queued, so it is fine).
    // The receive is cancelled and EOF (or the socket error the check found, peer_error_)
    // reported at its final CQE.
    bool peer_closed_ = false;
    std::int32_t peer_error_ = 0;
    std::int8_t unix_stream_ = -1;  // -1: not checked yet
    std::int32_t final_error_ = 0;
    bool final_eof_ = false;
};

}  // namespace pylon::reactor
