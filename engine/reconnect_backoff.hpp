// ReconnectBackoff: when a relay link tries to connect again. The delay doubles from initial_ms
// after each failed attempt (or each connection that did not last), up to max_ms, and is spread
// by +-jitter_percent so that links that dropped together do not reconnect in lock step (never
// above max_ms). A connection that stayed up for stable_after_ms resets the schedule: the next
// drop waits initial_ms again. Defaults: 1 s doubling to 60 s, reset after a stable minute.
// Pure arithmetic on the times the caller passes (monotonic ms) and the Rng it owns; one owner.
#pragma once

#include <cstdint>

#include "reactor/rng.hpp"

namespace pylon::engine {

struct BackoffOptions {
    std::int64_t initial_ms = 1000;
    std::int64_t max_ms = 60000;
    std::int64_t stable_after_ms = 60000;
    unsigned jitter_percent = 20;
};

class ReconnectBackoff {
  public:
    explicit ReconnectBackoff(BackoffOptions options) noexcept;

    // The un-jittered delay before retry `attempt` (1-based): initial x 2^(attempt-1), capped.
    std::int64_t base_delay_ms(unsigned attempt) const noexcept;

    // A connection came up at now_ms.
    void on_connected(std::int64_t now_ms) noexcept;
    // The connection (or the attempt) ended at now_ms: the delay before the next attempt. A
    // connection that was up for stable_after_ms or longer starts the schedule again.
    std::int64_t on_failure(std::int64_t now_ms, reactor::Rng& rng) noexcept;

    // Failures since the last stable connection.
    unsigned failures() const noexcept { return failures_; }
    const BackoffOptions& options() const noexcept { return options_; }

  private:
    BackoffOptions options_;
    unsigned failures_ = 0;
    std::int64_t connected_at_ms_ = -1;  // -1: not connected
};

}  // namespace pylon::engine
