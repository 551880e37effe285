#include "engine/reconnect_backoff.hpp"

#include <algorithm>

#include "reactor/assert.hpp"

namespace pylon::engine {

namespace {
constexpr unsigned doublings_max = 30;  // 2^30 x initial is beyond any max_ms
}

ReconnectBackoff::ReconnectBackoff(BackoffOptions options) noexcept : options_(options) {
    PYLON_ASSERT(options_.initial_ms > 0 && options_.initial_ms <= options_.max_ms);
    PYLON_ASSERT(options_.jitter_percent <= 100);
}

std::int64_t ReconnectBackoff::base_delay_ms(unsigned attempt) const noexcept {
    PYLON_ASSERT(attempt >= 1);
    unsigned shift = std::min(attempt - 1, doublings_max);
    std::int64_t delay = options_.initial_ms << shift;
    return std::min(delay, options_.max_ms);
}

void ReconnectBackoff::on_connected(std::int64_t now_ms) noexcept {
    connected_at_ms_ = now_ms;
}

std::int64_t ReconnectBackoff::on_failure(std::int64_t now_ms, reactor::Rng& rng) noexcept {
    if (connected_at_ms_ >= 0 && now_ms - connected_at_ms_ >= options_.stable_after_ms) {
        failures_ = 0;
    }
    connected_at_ms_ = -1;
    failures_++;
    double base = static_cast<double>(base_delay_ms(failures_));
    double spread = static_cast<double>(options_.jitter_percent) / 100.0;
    double factor = 1.0 - spread + 2.0 * spread * rng.unit();
    auto delay = static_cast<std::int64_t>(base * factor);
    delay = std::clamp<std::int64_t>(delay, 1, options_.max_ms);
    PYLON_ASSERT(delay <= options_.max_ms);
    return delay;
}

}  // namespace pylon::engine
