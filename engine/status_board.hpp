// StatusBoard: what `status`, the control socket's Status/Relays/Backends and an embedding host
// read about the running node, kept current by whoever knows: counters (jobs completed,
// earnings) are updated as events are emitted (EventBus) and seeded from the database at start;
// the relay pool (issue 6) publishes its relays, the backend registry its backends, the
// supervisor (issue 7) its worker and the memory monitor the memory figures. Writers update it
// on state changes only (never per token), so a mutex is cheap enough; counters are atomics.
// Any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "proto/control_protocol.hpp"

namespace pylon::engine {

class StatusBoard {
  public:
    void seed_counts(std::uint64_t jobs_completed, std::uint64_t earnings_msats);
    void add_job_completed(std::uint64_t earned_msats);
    std::uint64_t jobs_completed() const noexcept { return jobs_completed_.load(); }
    std::uint64_t earnings_msats() const noexcept { return earnings_msats_.load(); }

    void set_provider_active(bool active) noexcept { provider_active_.store(active); }
    void set_host_active(bool active) noexcept { host_active_.store(active); }
    bool provider_active() const noexcept { return provider_active_.load(); }
    bool host_active() const noexcept { return host_active_.load(); }

    // Replaces the whole list, or one entry (matched by url / id; appended if new).
    void set_relays(std::vector<proto::RelayInfo> relays);
    void update_relay(const proto::RelayInfo& relay);
    std::vector<proto::RelayInfo> relays() const;
    void set_backends(std::vector<proto::BackendInfo> backends);
    void update_backend(const proto::BackendInfo& backend);
    std::vector<proto::BackendInfo> backends() const;

    // autopilotd's worker fields (issue 7) and the latest memory reading. With a start time
    // (unix ms, 0 = none), worker() computes uptime_seconds at the time it is read.
    void set_worker(const proto::WorkerReply& worker, std::int64_t started_at_ms = 0);
    proto::WorkerReply worker() const;
    // Memory admission (issue 7): false while memory is low or critical; the provider's intake
    // (any shard) refuses new jobs with an `error` feedback saying the node is overloaded.
    void set_admitting(bool admitting) noexcept { admitting_.store(admitting); }
    bool admitting() const noexcept { return admitting_.load(); }
    void set_memory(std::uint64_t available_bytes, std::uint64_t total_bytes) noexcept;
    std::uint64_t memory_available_bytes() const noexcept { return memory_available_.load(); }
    std::uint64_t memory_total_bytes() const noexcept { return memory_total_.load(); }

  private:
    std::atomic<std::uint64_t> jobs_completed_{0};
    std::atomic<std::uint64_t> earnings_msats_{0};
    std::atomic<bool> provider_active_{false};
    std::atomic<bool> host_active_{false};
    std::atomic<std::uint64_t> memory_available_{0};
    std::atomic<std::uint64_t> memory_total_{0};
    std::atomic<bool> admitting_{true};
    std::int64_t worker_started_at_ms_ = 0;  // under mutex_
    mutable std::mutex mutex_;
    std::vector<proto::RelayInfo> relays_;
    std::vector<proto::BackendInfo> backends_;
    proto::WorkerReply worker_;
};

}  // namespace pylon::engine
