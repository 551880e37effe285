#include "engine/log_budget.hpp"

namespace pylon::engine {

void LogBudget::roll(std::int64_t now_ms) noexcept {
    if (!started_ || now_ms - window_start_ms_ >= window_ms_) {
        started_ = true;
        window_start_ms_ = now_ms;
        used_ = 0;
    }
}

bool LogBudget::allow(std::int64_t now_ms, std::uint64_t& held) noexcept {
    roll(now_ms);
    held = 0;
    if (used_ >= lines_max_) {
        held_++;
        return false;
    }
    used_++;
    held = held_;
    held_ = 0;
    return true;
}

std::uint64_t LogBudget::flush(std::int64_t now_ms) noexcept {
    if (held_ == 0 || now_ms - window_start_ms_ < window_ms_) {
        return 0;
    }
    std::uint64_t held = held_;
    held_ = 0;
    return held;
}

}  // namespace pylon::engine
