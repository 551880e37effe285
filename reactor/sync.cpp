#include "reactor/sync.hpp"

namespace pylon::reactor {

namespace detail {
void ListAwaiter::resume_popped(Waiter* w) noexcept {
    // The waiter's awaiter is still suspended; unhook its cancellation before resuming.
    CancelToken::remove(w->owner->registration());
    Shard::current().schedule(w->handle);
}
}  // namespace detail

void AsyncEvent::set() noexcept {
    set_ = true;
    while (detail::Waiter* w = waiters_.pop()) {
        detail::ListAwaiter::resume_popped(w);
    }
}

void AsyncSemaphore::release() noexcept {
    if (detail::Waiter* w = waiters_.pop()) {
        detail::ListAwaiter::resume_popped(w);  // the permit passes straight to the waiter
        return;
    }
    permits_++;
}

void AsyncSemaphore::adjust(std::int32_t delta) noexcept {
    if (delta >= 0) {
        for (std::int32_t i = 0; i < delta; i++) {
            release();
        }
        return;
    }
    std::uint32_t take = static_cast<std::uint32_t>(-delta);
    permits_ = permits_ > take ? permits_ - take : 0;
}

}  // namespace pylon::reactor
