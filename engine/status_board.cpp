#include "engine/status_board.hpp"

#include "reactor/clock.hpp"

namespace pylon::engine {

void StatusBoard::seed_counts(std::uint64_t jobs_completed, std::uint64_t earnings_msats) {
    jobs_completed_.store(jobs_completed);
    earnings_msats_.store(earnings_msats);
}

void StatusBoard::add_job_completed(std::uint64_t earned_msats) {
    jobs_completed_.fetch_add(1);
    earnings_msats_.fetch_add(earned_msats);
}

void StatusBoard::set_relays(std::vector<proto::RelayInfo> relays) {
    std::lock_guard lock(mutex_);
    relays_ = std::move(relays);
}

void StatusBoard::update_relay(const proto::RelayInfo& relay) {
    std::lock_guard lock(mutex_);
    for (proto::RelayInfo& r : relays_) {
        if (r.url == relay.url) {
            r = relay;
            return;
        }
    }
    relays_.push_back(relay);
}

std::vector<proto::RelayInfo> StatusBoard::relays() const {
    std::lock_guard lock(mutex_);
    return relays_;
}

void StatusBoard::set_backends(std::vector<proto::BackendInfo> backends) {
    std::lock_guard lock(mutex_);
    backends_ = std::move(backends);
}

void StatusBoard::update_backend(const proto::BackendInfo& backend) {
    std::lock_guard lock(mutex_);
    for (proto::BackendInfo& b : backends_) {
        if (b.id == backend.id) {
            b = backend;
            return;
        }
    }
    backends_.push_back(backend);
}

std::vector<proto::BackendInfo> StatusBoard::backends() const {
    std::lock_guard lock(mutex_);
    return backends_;
}

void StatusBoard::set_worker(const proto::WorkerReply& worker, std::int64_t started_at_ms) {
    std::lock_guard lock(mutex_);
    worker_ = worker;
    worker_started_at_ms_ = started_at_ms;
}

proto::WorkerReply StatusBoard::worker() const {
    std::lock_guard lock(mutex_);
    proto::WorkerReply w = worker_;
    if (worker_started_at_ms_ > 0) {
        std::int64_t up_ms = reactor::unix_ms() - worker_started_at_ms_;
        w.uptime_seconds = up_ms > 0 ? static_cast<std::uint64_t>(up_ms / 1000) : 0;
    }
    return w;
}

void StatusBoard::set_memory(std::uint64_t available_bytes, std::uint64_t total_bytes) noexcept {
    memory_available_.store(available_bytes);
    memory_total_.store(total_bytes);
}

}  // namespace pylon::engine
