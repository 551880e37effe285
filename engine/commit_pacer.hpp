// CommitPacer: the store thread's group-commit decision (engine/store.hpp "Batching"). Woken by
// a request, should the thread commit what is queued now, or wait up to wait_us for company,
// and for how many requests? It waits only when all of these hold:
//   - the wait is on (wait_us > 0) and at least jobs_min jobs are open across the shards;
//   - fewer than the target are queued, the target being half the open jobs (a job has one store
//     request at a time, so a batch can hardly grow past the open jobs), at most batch_max;
//   - requests arrive often enough that one more is likely within the wait: a running average
//     of arrivals per µs (each batch's size over the time since the previous take, weight 1/4)
//     times wait_us is at least 1. Many jobs open at a low request rate (long generations) is
//     not load. No average before the second batch: the first never waits.
// Pure: the caller passes monotonic µs. Used by one thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace pylon::engine {

class CommitPacer {
  public:
    struct Options {
        std::int64_t wait_us = 0;    // 0: never wait
        std::uint64_t jobs_min = 0;  // open jobs below which a request commits at once
        std::size_t batch_max = 1;   // the most requests one transaction takes
    };

    explicit CommitPacer(Options options) noexcept : options_(options) {}

    std::int64_t wait_us() const noexcept { return options_.wait_us; }
    // How many queued requests to wait for (0: commit now), with `queued` requests queued and
    // `open_jobs` jobs open.
    std::size_t gather_target(std::size_t queued, std::uint64_t open_jobs) const noexcept {
        if (options_.wait_us <= 0 || open_jobs < options_.jobs_min) {
            return 0;
        }
        std::size_t target =
            static_cast<std::size_t>(std::min<std::uint64_t>(options_.batch_max, open_jobs / 2));
        bool company_likely = arrivals_per_us_ * static_cast<double>(options_.wait_us) >= 1.0;
        return queued < target && company_likely ? target : 0;
    }
    // A batch of `taken` requests was taken at now_us.
    void took(std::size_t taken, std::int64_t now_us) noexcept {
        if (taken_before_) {
            double since_us =
                static_cast<double>(std::max<std::int64_t>(1, now_us - last_take_us_));
            arrivals_per_us_ += 0.25 * (static_cast<double>(taken) / since_us - arrivals_per_us_);
        }
        taken_before_ = true;
        last_take_us_ = now_us;
    }
    double arrivals_per_us() const noexcept { return arrivals_per_us_; }

  private:
    Options options_;
    double arrivals_per_us_ = 0;
    std::int64_t last_take_us_ = 0;
    bool taken_before_ = false;  // no rate before the second batch
};

}  // namespace pylon::engine
