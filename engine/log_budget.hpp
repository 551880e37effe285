// LogBudget: at most lines_max log lines per window_ms for one noisy source (a relay's NOTICEs,
// its unreadable messages), so that a peer cannot flood the log; the lines held back are counted
// and reported in one line by the next allowed line or by flush(). Plain data, one shard (its
// owner's); time comes from the caller (monotonic ms).
#pragma once

#include <cstdint>

namespace pylon::engine {

class LogBudget {
  public:
    LogBudget(std::uint32_t lines_max, std::int64_t window_ms) noexcept
        : lines_max_(lines_max), window_ms_(window_ms) {}

    // True when a line may be logged at now_ms; `held` is set to the lines held back before it
    // (to be reported first), 0 if none. False: the line is counted as held back.
    bool allow(std::int64_t now_ms, std::uint64_t& held) noexcept;
    // Lines held back whose window has ended (to report now), then 0 until more are held back.
    std::uint64_t flush(std::int64_t now_ms) noexcept;
    std::uint64_t held() const noexcept { return held_; }

  private:
    void roll(std::int64_t now_ms) noexcept;

    std::uint32_t lines_max_;
    std::int64_t window_ms_;
    std::int64_t window_start_ms_ = 0;
    bool started_ = false;
    std::uint32_t used_ = 0;  // lines logged in this window
    std::uint64_t held_ = 0;  // lines held back, not reported yet
};

}  // namespace pylon::engine
