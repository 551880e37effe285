#include "engine/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pylon::engine {

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) noexcept {
    if (value < sub_buckets_count) {
        return static_cast<std::size_t>(value);
    }
    auto msb = static_cast<unsigned>(63 - std::countl_zero(value));  // >= sub_bucket_bits
    unsigned shift = msb - sub_bucket_bits;
    std::uint64_t sub = (value >> shift) & (sub_buckets_count - 1);
    return static_cast<std::size_t>(sub_buckets_count + shift * sub_buckets_count + sub);
}

std::uint64_t LatencyHistogram::bucket_upper(std::size_t bucket) noexcept {
    if (bucket < sub_buckets_count) {
        return bucket;
    }
    std::size_t octave = (bucket - sub_buckets_count) / sub_buckets_count;
    std::uint64_t sub = (bucket - sub_buckets_count) % sub_buckets_count;
    std::uint64_t lower = (sub_buckets_count + sub) << octave;
    return lower + ((1ULL << octave) - 1);
}

void LatencyHistogram::record(std::uint64_t value) noexcept {
    counts_[bucket_of(value)]++;
    count_++;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < buckets_count; i++) {
        counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() noexcept {
    *this = LatencyHistogram{};
}

std::uint64_t LatencyHistogram::percentile(double q) const noexcept {
    if (count_ == 0) {
        return 0;
    }
    double want = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_));
    std::uint64_t rank = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(want), 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_count; i++) {
        seen += counts_[i];
        if (seen >= rank) {
            return std::min(bucket_upper(i), max_);
        }
    }
    return max_;
}

}  // namespace pylon::engine
