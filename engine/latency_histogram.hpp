// LatencyHistogram: a fixed-size, log-bucketed histogram of durations (any unit; the runner
// records nanoseconds). Values 0..15 have a bucket each; above, every power of two is split into
// 16 equal buckets, so a percentile is exact to within 1/16 (6.25%) of its value, over the whole
// uint64 range, in 976 counters (7.8 KB). record() is a few instructions and never allocates;
// percentiles are read from the counts (the bucket's upper bound, never above the largest value
// seen). Histograms of several shards are combined with merge(). Not synchronised: one owner
// (the JobRunner keeps one per shard; the control request copies them out by message).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pylon::engine {

class LatencyHistogram {
  public:
    static constexpr unsigned sub_bucket_bits = 4;
    static constexpr std::uint64_t sub_buckets_count = 1ULL << sub_bucket_bits;  // per octave
    static constexpr std::size_t buckets_count =
        sub_buckets_count + (64 - sub_bucket_bits) * sub_buckets_count;

    void record(std::uint64_t value) noexcept;
    void merge(const LatencyHistogram& other) noexcept;
    void reset() noexcept;

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
    std::uint64_t sum() const noexcept { return sum_; }
    // Nearest rank: the upper bound of the bucket holding the ceil(q * count)-th smallest
    // value, clamped to max(); 0 when empty. q in [0, 1].
    std::uint64_t percentile(double q) const noexcept;

    static std::size_t bucket_of(std::uint64_t value) noexcept;
    static std::uint64_t bucket_upper(std::size_t bucket) noexcept;

  private:
    std::array<std::uint64_t, buckets_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;  // wraps after 584 years of nanoseconds
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace pylon::engine
