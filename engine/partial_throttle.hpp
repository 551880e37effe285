// PartialThrottle: how often a running job may publish a `partial` feedback with the text so
// far. At most one per interval_ms (the first one interval_ms after the job started, so a fast
// job goes straight to its result), and only when new text arrived since the last one; an
// interval of 0 turns partial feedback off. Pure: the caller passes monotonic ms. One job.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pylon::engine {

class PartialThrottle {
  public:
    PartialThrottle(std::int64_t interval_ms, std::int64_t started_ms) noexcept
        : interval_ms_(interval_ms), last_ms_(started_ms) {}

    bool enabled() const noexcept { return interval_ms_ > 0; }

    // The output is `text_bytes` long at now_ms: true when a partial should be sent now (the
    // caller then sends it and calls sent()).
    bool due(std::int64_t now_ms, std::size_t text_bytes) const noexcept {
        return enabled() && text_bytes > sent_bytes_ && now_ms - last_ms_ >= interval_ms_;
    }
    void sent(std::int64_t now_ms, std::size_t text_bytes) noexcept {
        last_ms_ = now_ms;
        sent_bytes_ = text_bytes;
        count_++;
    }
    std::uint64_t count() const noexcept { return count_; }

  private:
    std::int64_t interval_ms_;
    std::int64_t last_ms_;
    std::size_t sent_bytes_ = 0;
    std::uint64_t count_ = 0;
};

}  // namespace pylon::engine
