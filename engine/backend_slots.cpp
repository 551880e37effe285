#include "engine/backend_slots.hpp"

#include "reactor/assert.hpp"
#include "reactor/shard.hpp"

namespace pylon::engine {

BackendSlots::BackendSlots(Uplink* uplink, std::size_t queue_max, std::int64_t linger_ms)
    : uplink_(uplink), queue_max_(queue_max), linger_ms_(linger_ms) {
    PYLON_ASSERT(uplink_ != nullptr && queue_max_ > 0);
}

BackendSlots::~BackendSlots() {
    PYLON_ASSERT_MSG(waiters_.empty(), "BackendSlots destroyed with jobs waiting");
}

bool BackendSlots::try_take() noexcept {
    if (held_ > busy_ && waiters_.empty()) {
        busy_++;
        return true;
    }
    return false;
}

void BackendSlots::want() {
    if (!want_pending_ && waiting_ > 0) {
        want_pending_ = true;
        uplink_->request();
    }
}

void BackendSlots::unwant() {
    if (want_pending_ && waiters_.empty()) {
        want_pending_ = false;
        uplink_->withdraw();
    }
}

bool BackendSlots::Awaiter::await_ready() noexcept {
    if (token_cancelled()) {
        early_ = Acquired::cancelled;
        return ready_ = true;
    }
    if (slots_->try_take()) {
        early_ = Acquired::granted;
        return ready_ = true;
    }
    if (!past_bound_ && slots_->waiting_ >= slots_->queue_max_) {
        early_ = Acquired::full;
        return ready_ = true;
    }
    return false;
}

void BackendSlots::Awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    suspended_ = true;
    slots_->waiting_++;
    suspend(h);
    slots_->want();
}

BackendSlots::Acquired BackendSlots::Awaiter::await_resume() noexcept {
    if (ready_) {
        return early_;
    }
    PYLON_ASSERT(suspended_);
    if (was_cancelled()) {
        slots_->waiting_--;  // hand_to_waiter did not pop this one
        slots_->unwant();
        return Acquired::cancelled;
    }
    return Acquired::granted;  // hand_to_waiter counted it busy
}

// Gives one free leased slot to the oldest waiter.
void BackendSlots::hand_to_waiter() {
    reactor::detail::Waiter* w = waiters_.pop();
    PYLON_ASSERT(w != nullptr && waiting_ > 0 && held_ > busy_);
    waiting_--;
    busy_++;
    reactor::detail::ListAwaiter::resume_popped(w);
    unwant();
}

void BackendSlots::release() {
    PYLON_ASSERT(busy_ > 0);
    busy_--;
    if (recalled_) {
        give_back(1);
        want();
        return;
    }
    if (!waiters_.empty()) {
        hand_to_waiter();
    }
}

void BackendSlots::on_grant() {
    want_pending_ = false;
    held_++;
    if (!waiters_.empty()) {
        hand_to_waiter();
    } else if (recalled_) {
        give_back(1);
    }
    want();
}

void BackendSlots::on_recall(bool on) {
    recalled_ = on;
    if (on && held_ > busy_) {
        give_back(held_ - busy_);
    }
}

void BackendSlots::sweep(std::int64_t now_ms) {
    if (held_ == busy_ || !waiters_.empty()) {
        idle_since_ms_ = -1;
        return;
    }
    if (idle_since_ms_ < 0) {
        idle_since_ms_ = now_ms;
    }
    if (now_ms - idle_since_ms_ >= linger_ms_) {
        give_back(held_ - busy_);
        idle_since_ms_ = -1;
    }
}

void BackendSlots::return_idle() {
    give_back(held_ - busy_);
    idle_since_ms_ = -1;
}

void BackendSlots::give_back(std::uint32_t n) {
    PYLON_ASSERT(n <= held_ - busy_);
    if (n == 0) {
        return;
    }
    held_ -= n;
    uplink_->give_back(n);
}

}  // namespace pylon::engine
