// BackendSlots: one shard's side of a backend's slots (see slot_lender.hpp for the protocol).
// Jobs of this shard `co_await acquire(token)` a slot and release() it when their generation
// ends. A slot comes from a lease this shard holds; when none is free the job waits in a
// bounded FIFO (queue_max: beyond it acquire() answers `full` at once, and the job is refused
// with "queue full"; a job the node accepted before a restart asks `past_bound` and waits even
// then, so the FIFO holds at most queue_max plus those reruns) while one request is outstanding
// at the lender (withdrawn if the queue empties before it is served). A freed slot goes straight
// to the next waiting job unless the lender recalled it; a lease nobody here needs is kept for
// linger_ms (so a busy shard does not ask again for every job) and then given back (sweep()).
//
// The Uplink carries requests and give-backs to the lender (cross-shard messages in the node;
// calls in tests). One shard; waits take the job's CancelToken.
#pragma once

#include <cstdint>

#include "reactor/cancel.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {

class BackendSlots {
  public:
    class Uplink {
      public:
        virtual ~Uplink() = default;
        virtual void request() = 0;
        virtual void withdraw() = 0;  // the request is no longer needed
        virtual void give_back(std::uint32_t n) = 0;
    };

    enum class Acquired : std::uint8_t { granted, full, cancelled };

    BackendSlots(Uplink* uplink, std::size_t queue_max, std::int64_t linger_ms);
    BackendSlots(const BackendSlots&) = delete;
    BackendSlots& operator=(const BackendSlots&) = delete;
    ~BackendSlots();

    class Awaiter : public reactor::detail::ListAwaiter {
      public:
        Awaiter(BackendSlots* slots, reactor::CancelToken token, bool past_bound) noexcept
            : ListAwaiter(&slots->waiters_, token), slots_(slots), past_bound_(past_bound) {}
        bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> h) noexcept;
        Acquired await_resume() noexcept;

      private:
        BackendSlots* slots_;
        bool past_bound_;
        Acquired early_ = Acquired::granted;
        bool ready_ = false;
        bool suspended_ = false;
    };
    // past_bound: never `full` (a job accepted before a restart, whose place was granted then).
    Awaiter acquire(reactor::CancelToken token = {}, bool past_bound = false) noexcept {
        return Awaiter(this, token, past_bound);
    }
    // A job is done with its slot.
    void release();
    // True when a job asking now would not be refused as `full`.
    bool has_room() const noexcept { return held_ > busy_ || waiting_ < queue_max_; }

    // From the lender.
    void on_grant();
    void on_recall(bool on);
    // Gives back leases idle since linger_ms (call about once a second).
    void sweep(std::int64_t now_ms);
    // Gives back every idle lease now (stop).
    void return_idle();

    std::uint32_t held() const noexcept { return held_; }
    std::uint32_t busy() const noexcept { return busy_; }
    std::size_t waiting() const noexcept { return waiting_; }
    std::size_t queue_max() const noexcept { return queue_max_; }
    bool recalled() const noexcept { return recalled_; }

  private:
    bool try_take() noexcept;
    void want();
    void unwant();
    void hand_to_waiter();
    void give_back(std::uint32_t n);

    Uplink* uplink_;
    std::size_t queue_max_;
    std::int64_t linger_ms_;
    reactor::detail::WaitList waiters_;
    std::size_t waiting_ = 0;
    std::uint32_t held_ = 0;
    std::uint32_t busy_ = 0;
    bool want_pending_ = false;
    bool recalled_ = false;
    std::int64_t idle_since_ms_ = -1;  // -1: no idle lease (or not measured yet)
};

}  // namespace pylon::engine
