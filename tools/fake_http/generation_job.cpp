#include "tools/fake_http/generation_job.hpp"

#include <algorithm>

#include "tools/fake_http/fake_assert.hpp"

namespace pylon::fake {
namespace {

constexpr int queue_tick_ms = 50;  // how often a queued job checks for its client leaving

double ms_between(GenerationJob::Clock::time_point a, GenerationJob::Clock::time_point b) {
    if (a == GenerationJob::Clock::time_point{} || b == GenerationJob::Clock::time_point{}) {
        return 0.0;
    }
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

GenerationJob::GenerationJob(const FakeConfig& cfg, FakeStats& stats, SlotPool& slots,
                             Connection& conn)
    : cfg_(cfg), stats_(stats), slots_(slots), conn_(conn), last_write_(Clock::now()) {}

GenerationJob::~GenerationJob() {
    if (slot_ >= 0) {
        // Count the release first: the next job may take the slot the moment the pool frees
        // it, and slots_busy must never read above the slot count.
        stats_.slot_released();
        slots_.release(slot_);
    }
    if (admitted_) {
        stats_.leave();
    }
}

bool GenerationJob::admit(std::int64_t in_flight_max) {
    FAKE_ASSERT(!admitted_);
    admitted_ = stats_.try_admit(in_flight_max);
    admitted_at_ = Clock::now();
    return admitted_;
}

void GenerationJob::set_ping(Ping ping, int ping_ms) {
    FAKE_ASSERT(ping_ms > 0);
    ping_ = std::move(ping);
    ping_ms_ = ping_ms;
}

bool GenerationJob::acquire_slot() {
    FAKE_ASSERT(admitted_ && slot_ < 0);
    bool client_left = false;
    slot_ = slots_.acquire(
        [&] {
            Wait w = wait(0);
            client_left = w == Wait::client_closed;
            return w == Wait::elapsed;
        },
        queue_tick_ms);
    if (slot_ < 0) {
        if (client_left) {
            stats_.wait_cancelled_by_client();
        }
        return false;
    }
    stats_.slot_taken();
    slot_at_ = Clock::now();
    return true;
}

Wait GenerationJob::wait(int ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        int step = ms;
        if (ping_) {
            auto next_ping = last_write_ + std::chrono::milliseconds(ping_ms_);
            if (Clock::now() >= next_ping) {
                if (!ping_()) {
                    return Wait::client_closed;
                }
                note_write();
                continue;
            }
            auto until = std::min(next_ping, deadline) - Clock::now();
            step = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until).count());
        } else {
            step = static_cast<int>(
                std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count());
        }
        Wait w = conn_.wait_ms(std::max(0, step));
        if (w != Wait::elapsed || Clock::now() >= deadline) {
            return w;
        }
    }
}

JobEnd GenerationJob::run(int tokens, const Emit& emit) {
    FAKE_ASSERT(slot_ >= 0 && tokens >= 0);
    stats_.stream_started();
    bool faulty = cfg_.fault == Fault::error_mid_stream || cfg_.fault == Fault::reset_mid_stream;
    for (int k = 0; k <= tokens; ++k) {
        if (faulty && k == std::min(cfg_.fault_after, tokens)) {
            stats_.stream_failed();
            if (cfg_.fault == Fault::reset_mid_stream) {
                conn_.reset();
                return JobEnd::fault_reset;
            }
            return JobEnd::fault_error;
        }
        if (k == tokens) {
            break;
        }
        Wait w = wait(k == 0 ? cfg_.first_token_delay_ms : cfg_.token_delay_ms);
        if (w == Wait::elapsed) {
            if (emit(k, token_piece(cfg_, k))) {
                note_write();
                ++produced_;
                last_token_at_ = Clock::now();
                if (k == 0) {
                    first_token_at_ = last_token_at_;
                }
                continue;
            }
            w = Wait::client_closed;
        }
        if (w == Wait::client_closed) {
            stats_.stream_cancelled_by_client();
            return JobEnd::client_closed;
        }
        return JobEnd::stopping;
    }
    // A job that ends before its first token (no tokens) still has a "first token" moment.
    if (first_token_at_ == Clock::time_point{}) {
        first_token_at_ = last_token_at_ = Clock::now();
    }
    return JobEnd::completed;
}

void GenerationJob::completed() {
    stats_.stream_completed();
}

double GenerationJob::prompt_ms() const {
    return ms_between(slot_at_, first_token_at_);
}

double GenerationJob::predicted_ms() const {
    return ms_between(first_token_at_, last_token_at_);
}

double GenerationJob::total_ms() const {
    return ms_between(admitted_at_, Clock::now());
}

}  // namespace pylon::fake
