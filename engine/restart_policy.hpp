// RestartPolicy: when a supervised child is restarted and when the supervisor gives up. Pure
// arithmetic on the policy values (no clock, no I/O); the caller passes the Rng used for jitter.
//
// Backoff is systemd's geometric RestartSteps formula: the delay before restart n (n >= 1) is
// base x (max / base)^((n - 1) / steps), and max once n > steps; with the defaults
// (1 s -> 60 s in 6 steps) that is 1, 2, 3.9, 7.7, 15.3, 30.3, 60, 60 ... s. Each delay is then
// spread by +-jitter_percent (uniform) so that children that died together do not restart in
// lock step. Defaults follow ../shared/reference/backends-and-supervision.md §12.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reactor/rng.hpp"

namespace pylon::engine {

// When a child that exited by itself is started again.
enum class RestartMode : unsigned char {
    always,      // every exit (a server is never supposed to exit)
    on_failure,  // not after exit code 0 (autopilotd's worker semantics)
    never,
};
const char* restart_mode_name(RestartMode mode) noexcept;
bool parse_restart_mode(const std::string& text, RestartMode& out) noexcept;

struct RestartPolicy {
    RestartMode mode = RestartMode::always;
    std::int64_t backoff_base_ms = 1000;
    std::int64_t backoff_max_ms = 60000;
    unsigned backoff_steps = 6;
    unsigned jitter_percent = 10;
    std::int64_t stable_ms = 60000;  // healthy this long: the failure count starts again at 0
    unsigned failures_max = 5;       // consecutive failures before `failed`
    std::vector<int> permanent_exit_codes;  // such an exit gives up at once
    std::int64_t start_timeout_ms = 30000;  // health gate must pass within this
    std::int64_t stop_grace_ms = 10000;     // SIGTERM -> SIGKILL

    // The un-jittered delay before restart `attempt` (1-based).
    std::int64_t base_delay_ms(unsigned attempt) const noexcept;
    // The delay with jitter applied (never negative).
    std::int64_t delay_ms(unsigned attempt, reactor::Rng& rng) const noexcept;
    bool is_permanent(int exit_code) const noexcept;
};

}  // namespace pylon::engine
