// PublishPressure: how many configured relay links are connected with a busy PublishQueue, and
// the node-wide decision taken from it: intake is paused while at least one is (every job
// subscription is CLOSEd; requests that still arrive are held or left for the re-REQ) and
// resumes when the last one drains (every link subscribes again from its cursor). note() returns
// the change the call made, so exactly one caller logs, counts and broadcasts each pause and each
// resume. Any shard (one atomic counter); owned by the ProviderHub.
#pragma once

#include <atomic>
#include <cstdint>

#include "reactor/assert.hpp"

namespace pylon::engine {

class PublishPressure {
  public:
    enum class Change : std::uint8_t { none, paused, resumed };

    // A link started (on) or stopped (off) pressing. Calls pair up per link.
    Change note(bool on) noexcept {
        int before = pressing_.fetch_add(on ? 1 : -1, std::memory_order_acq_rel);
        PYLON_ASSERT(on || before > 0);
        if (on) {
            return before == 0 ? Change::paused : Change::none;
        }
        return before == 1 ? Change::resumed : Change::none;
    }
    bool paused() const noexcept { return pressing_.load(std::memory_order_acquire) > 0; }
    int pressing() const noexcept { return pressing_.load(std::memory_order_acquire); }

  private:
    std::atomic<int> pressing_{0};
};

}  // namespace pylon::engine
