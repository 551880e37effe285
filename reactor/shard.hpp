// Shard: one thread, one io_uring, and everything that thread owns: a ready queue of coroutines,
// a timer wheel, a provided-buffer ring for receives, and the inbound ends of its mailboxes.
// A shard never blocks except in its single io_uring wait, whose timeout is the nearest timer
// deadline (an idle shard makes no wake-ups beyond its own timers). Other shards reach it only
// by messages (SPSC mailboxes per shard pair, ShardSet); a sleeping shard is woken with
// IORING_OP_MSG_RING by a sending shard, or through its eventfd by a non-shard thread.
//
// The loop, each turn: run ready coroutines (up to a ~0.5 ms quota), drain mailboxes, fire due
// timers, then submit and either wait (nothing ready) or just reap. Completions dispatch on
// user_data: a Completion* (aligned, low bit 0) or a tagged internal value (low bit 1).
//
// Everything here is touched by the shard's own thread only, except the documented wake and
// post_foreign entry points.
#pragma once

#include <liburing.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "reactor/buffer_ring.hpp"
#include "reactor/inline_fn.hpp"
#include "reactor/result.hpp"
#include "reactor/ring_queue.hpp"
#include "reactor/task.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::reactor {

class ShardSet;
class Mailbox;

// The record of one in-flight io_uring operation; user_data points to it.
struct Completion {
    using Fn = void (*)(Completion*, std::int32_t res, std::uint32_t flags);
    explicit Completion(Fn fn) noexcept : on_cqe(fn) {}
    Fn on_cqe;
};

// A cross-shard message: a small callable run on the receiving shard.
using Message = InlineFn<48>;

struct ShardOptions {
    unsigned sq_entries = 256;
    unsigned cq_entries = 1024;  // about 4x SQ: multishot operations post many CQEs
    BufferRingOptions recv_buffers{};
    std::int64_t task_quota_us = 500;       // ready coroutines run at most this long per turn
    std::int64_t stall_warn_ms = 25;        // a turn longer than this is logged as a stall
    std::uint32_t mailbox_drain_max = 512;  // messages taken per source per turn
    unsigned iowq_workers_max = 2;          // bound on io-wq threads (bounded and unbounded)
};

struct ShardCounters {
    std::uint64_t loops = 0;
    std::uint64_t waits = 0;  // turns that slept in io_uring_enter
    std::uint64_t cqes = 0;
    std::uint64_t tasks_resumed = 0;
    std::uint64_t timers_fired = 0;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t wakes_sent = 0;  // MSG_RING wake-ups this shard sent
    std::uint64_t wakes_received = 0;
    std::uint64_t foreign_posts = 0;
    std::uint64_t mailbox_full = 0;  // sends that found the target mailbox full
    std::uint64_t stalls = 0;
    std::uint64_t stall_max_us = 0;
    std::uint64_t sqe_waits = 0;  // times the SQ was full and had to be flushed
};

class Shard {
  public:
    // The shard running on this thread; asserts that there is one.
    static Shard& current() noexcept;
    static Shard* current_or_null() noexcept;

    // Creates the ring on the calling thread (which becomes the shard's thread).
    static Result<std::unique_ptr<Shard>> create(unsigned id, ShardSet* set,
                                                 const ShardOptions& options);
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;
    ~Shard();

    unsigned id() const noexcept { return id_; }
    ShardSet* set() const noexcept { return set_; }
    io_uring* ring() noexcept { return &ring_; }
    int ring_fd() const noexcept { return ring_fd_; }
    BufferRing& recv_buffers() noexcept { return *buffers_; }
    TimerWheel& timers() noexcept { return timers_; }
    const ShardCounters& counters() const noexcept { return counters_; }
    // Monotonic milliseconds, refreshed each loop turn (cheap; use for timers).
    std::int64_t now_ms() const noexcept { return now_ms_; }
    std::int64_t refresh_now_ms() noexcept;

    // An SQE to fill; never null (flushes the SQ to the kernel when it is full). The caller
    // sets user_data. It is submitted at the end of this loop turn.
    io_uring_sqe* get_sqe() noexcept;
    // Submits an ASYNC_CANCEL for the operation whose user_data is `target`.
    void cancel_op(const Completion* target) noexcept;
    // In-flight operations (counted by the op layer; shutdown waits for zero).
    void op_started() noexcept { ops_in_flight_++; }
    void op_finished() noexcept { ops_in_flight_--; }
    std::uint64_t ops_in_flight() const noexcept { return ops_in_flight_; }

    // Queue a coroutine to resume on this shard (FIFO).
    void schedule(std::coroutine_handle<> h) { ready_.push(h); }
    // Run `msg` on this shard on a later turn (a message to oneself).
    void schedule_message(Message msg) { local_messages_.push(std::move(msg)); }
    // Run `task` detached on this shard (it starts on a later turn). Prefer Gate::spawn, which
    // lets shutdown wait for it.
    void spawn(Task<void> task);

    // Runs the loop until `main` completes and every spawned task has finished, then cancels
    // what is still in flight and waits (bounded) for its completions.
    void run(Task<void> main);
    // The main task asked to stop: loop() returns once nothing is left (see run()).
    bool main_done() const noexcept { return main_done_; }

    // -- Cross-shard plumbing (used by ShardSet/Mailbox) --
    // Wake this shard if it may be asleep. `from` is the calling shard (nullptr off-shard).
    void wake(Shard* from) noexcept;
    // Sends a wake-up unconditionally (MSG_RING from a shard, else the eventfd).
    void send_wake(Shard* from) noexcept;
    // Any thread: run `msg` on this shard. Unbounded only in count of callers (store and
    // resolver threads post one completion per request they hold); mutex-guarded.
    void post_foreign(Message msg);
    void add_inbound(Mailbox* mailbox) { inbound_.push_back(mailbox); }
    // A mailbox from this shard has messages or senders waiting for room; retried every turn.
    void note_outbound_blocked(Mailbox* mailbox);
    ShardCounters& mutable_counters() noexcept { return counters_; }

  private:
    Shard(unsigned id, ShardSet* set, const ShardOptions& options);
    Status init();
    void loop();
    void run_ready();
    void drain_inbound();
    void drain_foreign();
    void flush_outbound_blocked();
    void shutdown_drain();
    bool inbound_pending() noexcept;
    void submit_and_wait(bool block);
    void reap();
    void dispatch_tag(std::uint64_t tag, std::int32_t res);
    void arm_eventfd();
    void note_turn(std::int64_t turn_start_ns);

    unsigned id_;
    ShardSet* set_;
    ShardOptions options_;
    io_uring ring_{};
    bool ring_ready_ = false;
    int ring_fd_ = -1;
    int event_fd_ = -1;
    std::uint64_t event_value_ = 0;  // read target for the eventfd
    bool event_armed_ = false;
    BufferRing* buffers_ = nullptr;
    TimerWheel timers_;
    RingQueue<std::coroutine_handle<>> ready_;
    std::int64_t now_ms_ = 0;
    std::uint64_t ops_in_flight_ = 0;
    ShardCounters counters_{};
    bool main_done_ = false;
    std::uint64_t spawned_live_ = 0;

    RingQueue<Message> local_messages_{16};
    std::vector<Mailbox*> inbound_;
    std::vector<Mailbox*> outbound_blocked_;

    // Wake protocol: the shard sets sleeping_ before its wait, then re-checks its inputs;
    // senders push, fence, and wake only if sleeping_ was set (see wake()).
    alignas(64) std::atomic<bool> sleeping_{false};
    alignas(64) std::mutex foreign_mutex_;
    std::vector<Message> foreign_;
    std::atomic<bool> foreign_pending_{false};
    std::vector<Message> foreign_swap_;
};

// Tagged user_data values (low bit set; Completion pointers are aligned).
namespace tag {
inline constexpr std::uint64_t ignore = 0;
inline constexpr std::uint64_t wake = (1 << 4) | 1;             // MSG_RING wake-up received
inline constexpr std::uint64_t eventfd = (2 << 4) | 1;          // our eventfd became readable
inline constexpr std::uint64_t msg_ring_failed = (3 << 4) | 1;  // our wake SQE failed; retry
}  // namespace tag

}  // namespace pylon::reactor
