// FakeStats: the counters a fake backend exposes to tests on GET /_fake/stats (an endpoint the
// real servers do not have). Shared by all connection threads; every member locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace pylon::fake {

class FakeStats {
  public:
    // Every request except /_fake/stats. Returns the new count.
    std::int64_t count_request();

    // Admits a generation request unless in_flight is already at in_flight_max (negative: no
    // bound). Each successful admit is paired with one leave().
    bool try_admit(std::int64_t in_flight_max);
    void leave();

    void slot_taken();
    void slot_released();

    void stream_started();
    void stream_completed();
    void stream_cancelled_by_client();  // the client closed while the job generated
    void wait_cancelled_by_client();    // the client closed while the job waited for a slot
    void stream_failed();               // an injected error or reset ended the job
    void rejected();                    // 4xx/5xx answered before any generation

    std::string to_json() const;

    // Connections the HTTP server accepted (process-wide: the server knows no FakeStats), so a
    // test sees whether its client kept connections alive.
    static void connection_accepted();
    static std::int64_t connections_accepted();

  private:
    static std::atomic<std::int64_t> connections_accepted_;
    mutable std::mutex mutex_;
    std::int64_t requests_ = 0;
    std::int64_t streams_started_ = 0;
    std::int64_t streams_completed_ = 0;
    std::int64_t streams_cancelled_by_client_ = 0;
    std::int64_t waits_cancelled_by_client_ = 0;
    std::int64_t streams_failed_ = 0;
    std::int64_t rejected_ = 0;
    std::int64_t in_flight_ = 0;
    std::int64_t max_in_flight_ = 0;
    std::int64_t slots_busy_ = 0;
    std::int64_t max_slots_busy_ = 0;
};

}  // namespace pylon::fake
