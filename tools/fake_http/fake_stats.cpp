#include "tools/fake_http/fake_stats.hpp"

#include <algorithm>

#include "tools/fake_http/fake_assert.hpp"
#include "tools/fake_http/json_out.hpp"

namespace pylon::fake {

std::int64_t FakeStats::count_request() {
    std::lock_guard lock(mutex_);
    return ++requests_;
}

bool FakeStats::try_admit(std::int64_t in_flight_max) {
    std::lock_guard lock(mutex_);
    if (in_flight_max >= 0 && in_flight_ >= in_flight_max) {
        return false;
    }
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    return true;
}

void FakeStats::leave() {
    std::lock_guard lock(mutex_);
    FAKE_ASSERT(in_flight_ > 0);
    --in_flight_;
}

void FakeStats::slot_taken() {
    std::lock_guard lock(mutex_);
    ++slots_busy_;
    max_slots_busy_ = std::max(max_slots_busy_, slots_busy_);
}

void FakeStats::slot_released() {
    std::lock_guard lock(mutex_);
    FAKE_ASSERT(slots_busy_ > 0);
    --slots_busy_;
}

void FakeStats::stream_started() {
    std::lock_guard lock(mutex_);
    ++streams_started_;
}

void FakeStats::stream_completed() {
    std::lock_guard lock(mutex_);
    ++streams_completed_;
}

void FakeStats::stream_cancelled_by_client() {
    std::lock_guard lock(mutex_);
    ++streams_cancelled_by_client_;
}

void FakeStats::wait_cancelled_by_client() {
    std::lock_guard lock(mutex_);
    ++waits_cancelled_by_client_;
}

void FakeStats::stream_failed() {
    std::lock_guard lock(mutex_);
    ++streams_failed_;
}

void FakeStats::rejected() {
    std::lock_guard lock(mutex_);
    ++rejected_;
}

std::atomic<std::int64_t> FakeStats::connections_accepted_{0};

void FakeStats::connection_accepted() {
    connections_accepted_.fetch_add(1, std::memory_order_relaxed);
}

std::int64_t FakeStats::connections_accepted() {
    return connections_accepted_.load(std::memory_order_relaxed);
}

std::string FakeStats::to_json() const {
    std::lock_guard lock(mutex_);
    JsonOut j;
    j.begin_object()
        .field("requests", requests_)
        .field("streams_started", streams_started_)
        .field("streams_completed", streams_completed_)
        .field("streams_cancelled_by_client", streams_cancelled_by_client_)
        .field("waits_cancelled_by_client", waits_cancelled_by_client_)
        .field("streams_failed", streams_failed_)
        .field("rejected", rejected_)
        .field("in_flight", in_flight_)
        .field("max_in_flight", max_in_flight_)
        .field("slots_busy", slots_busy_)
        .field("max_slots_busy", max_slots_busy_)
        .field("connections_accepted", connections_accepted())
        .end_object();
    return j.text();
}

}  // namespace pylon::fake
