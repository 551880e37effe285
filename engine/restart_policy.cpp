#include "engine/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace pylon::engine {

const char* restart_mode_name(RestartMode mode) noexcept {
    switch (mode) {
        case RestartMode::always:
            return "always";
        case RestartMode::on_failure:
            return "on-failure";
        case RestartMode::never:
            return "never";
    }
    return "?";
}

bool parse_restart_mode(const std::string& text, RestartMode& out) noexcept {
    for (RestartMode m : {RestartMode::always, RestartMode::on_failure, RestartMode::never}) {
        if (text == restart_mode_name(m)) {
            out = m;
            return true;
        }
    }
    return false;
}

std::int64_t RestartPolicy::base_delay_ms(unsigned attempt) const noexcept {
    std::int64_t base = std::max<std::int64_t>(backoff_base_ms, 0);
    std::int64_t cap = std::max(backoff_max_ms, base);
    if (attempt <= 1 || base == 0) {
        return base;
    }
    if (backoff_steps == 0 || cap == base) {
        return base;  // systemd: a cap without steps is ignored
    }
    if (attempt > backoff_steps) {
        return cap;
    }
    double ratio = static_cast<double>(cap) / static_cast<double>(base);
    double exponent = static_cast<double>(attempt - 1) / static_cast<double>(backoff_steps);
    double delay = static_cast<double>(base) * std::pow(ratio, exponent);
    return std::min(cap, static_cast<std::int64_t>(std::llround(delay)));
}

std::int64_t RestartPolicy::delay_ms(unsigned attempt, reactor::Rng& rng) const noexcept {
    std::int64_t base = base_delay_ms(attempt);
    unsigned pct = std::min(jitter_percent, 100U);
    if (base == 0 || pct == 0) {
        return base;
    }
    double spread = (rng.unit() * 2.0 - 1.0) * static_cast<double>(pct) / 100.0;
    auto delay =
        static_cast<std::int64_t>(std::llround(static_cast<double>(base) * (1.0 + spread)));
    return std::max<std::int64_t>(delay, 0);
}

bool RestartPolicy::is_permanent(int exit_code) const noexcept {
    return std::find(permanent_exit_codes.begin(), permanent_exit_codes.end(), exit_code) !=
           permanent_exit_codes.end();
}

}  // namespace pylon::engine
