// Mailbox: the one-way channel from shard `from` to shard `to` (one per ordered shard pair,
// owned by the ShardSet). Messages move through a bounded SPSC queue. When it is full the sender
// keeps them, in order, in its own pending list (with the coroutine that is waiting for room, if
// any) and flags itself blocked; the receiver, after draining, wakes a blocked sender so it can
// push the rest. `pending_` and `in_blocked_list_` belong to the sender's thread; the queue is
// shared; `sender_blocked_` is the only flag both sides write.
#pragma once

#include <atomic>
#include <coroutine>

#include "reactor/ring_queue.hpp"
#include "reactor/shard.hpp"
#include "reactor/spsc_queue.hpp"

namespace pylon::reactor {

class Mailbox {
  public:
    Mailbox(Shard* from, Shard* to, std::size_t capacity)
        : from_(from), to_(to), queue_(capacity) {}
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    Shard* from() const noexcept { return from_; }
    Shard* to() const noexcept { return to_; }
    std::size_t capacity() const noexcept { return queue_.capacity(); }

    // Sender thread. Pushes now if there is room and nothing is pending; returns false when full
    // (msg is left untouched).
    bool try_send(Message& msg);
    // Sender thread. Never fails: queues behind pending messages when full. `waiter`, if given,
    // is resumed once the message is in the queue.
    void send_or_hold(Message msg, std::coroutine_handle<> waiter = {});
    bool has_pending() const noexcept { return !pending_.empty(); }
    // Sender thread: true when a push would succeed now.
    bool has_room_for_sender() { return !queue_.full_for_producer(); }
    // Sender thread: push held messages while there is room. True when none are left.
    bool flush_pending();

    // Receiver thread: run up to `max` messages; returns how many ran.
    std::uint32_t drain(std::uint32_t max);
    bool empty_approx() const noexcept { return queue_.empty_approx(); }

  private:
    friend class Shard;
    struct Held {
        Message msg;
        std::coroutine_handle<> waiter;
    };

    Shard* from_;
    Shard* to_;
    SpscQueue<Message> queue_;
    alignas(64) std::atomic<bool> sender_blocked_{false};
    RingQueue<Held> pending_{8};
    bool in_blocked_list_ = false;
};

}  // namespace pylon::reactor
