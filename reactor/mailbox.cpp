#include "reactor/mailbox.hpp"

namespace pylon::reactor {

bool Mailbox::try_send(Message& msg) {
    if (!pending_.empty() || !queue_.try_push(msg)) {
        from_->mutable_counters().mailbox_full++;
        return false;
    }
    from_->mutable_counters().messages_out++;
    to_->wake(from_);
    return true;
}

void Mailbox::send_or_hold(Message msg, std::coroutine_handle<> waiter) {
    if (try_send(msg)) {
        if (waiter) {
            from_->schedule(waiter);
        }
        return;
    }
    pending_.push(Held{std::move(msg), waiter});
    sender_blocked_.store(true, std::memory_order_release);
    from_->note_outbound_blocked(this);
}

bool Mailbox::flush_pending() {
    bool pushed = false;
    while (!pending_.empty()) {
        Held& front = pending_.front();
        if (!queue_.try_push(front.msg)) {
            break;
        }
        pushed = true;
        from_->mutable_counters().messages_out++;
        Held done = pending_.pop();
        if (done.waiter) {
            from_->schedule(done.waiter);
        }
    }
    if (pushed) {
        to_->wake(from_);
    }
    if (pending_.empty()) {
        return true;
    }
    // Still full: ask the receiver for a wake once it drains; the store-then-recheck order
    // pairs with drain() so a drain between our failed push and the flag cannot be missed.
    sender_blocked_.store(true, std::memory_order_seq_cst);
    if (!queue_.full_for_producer()) {
        return flush_pending();
    }
    return false;
}

std::uint32_t Mailbox::drain(std::uint32_t max) {
    std::uint32_t n = 0;
    Message msg;
    while (n < max && queue_.try_pop(msg)) {
        msg();
        msg.reset();
        n++;
    }
    if (n > 0) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sender_blocked_.load(std::memory_order_relaxed) &&
            sender_blocked_.exchange(false, std::memory_order_acq_rel)) {
            from_->wake(to_);
        }
    }
    return n;
}

}  // namespace pylon::reactor
