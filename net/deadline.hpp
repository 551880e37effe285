// Deadline: a CancelSource that fires by itself when a time budget runs out, or when a parent
// token fires. Hand its token() to operations and waits to bound them together ("the whole
// request within total_timeout_ms"); expired() then tells a timeout from a cancellation by the
// parent. Lives in a coroutine frame on one shard; not movable. Every operation that used the
// token must have finished before the Deadline is destroyed (CancelSource's rule).
#pragma once

#include <cstdint>

#include "reactor/cancel.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::net {

class Deadline {
  public:
    // timeout_ms <= 0: no time limit (only the parent can fire it).
    explicit Deadline(std::int64_t timeout_ms, reactor::CancelToken parent = {});
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    ~Deadline();

    reactor::CancelToken token() noexcept { return source_.token(); }
    // True when the time budget ran out (as opposed to a parent cancellation).
    bool expired() const noexcept { return expired_; }
    bool fired() const noexcept { return source_.cancelled(); }
    // Milliseconds left (>= 1 while armed), or 0 when there is no time limit.
    std::int64_t remaining_ms() const noexcept;
    // Stops following the parent token (its source may then go away before this Deadline).
    void detach_parent() noexcept { reactor::CancelToken::remove(&parent_reg_); }

  private:
    static void on_timer(reactor::TimerNode* node);
    static void on_parent(reactor::CancelRegistration* reg);

    reactor::CancelSource source_;
    reactor::TimerNode timer_;
    reactor::CancelRegistration parent_reg_;
    std::int64_t deadline_ms_ = 0;
    bool expired_ = false;
};

}  // namespace pylon::net
