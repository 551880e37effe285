#include "engine/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace pylon::engine {
namespace {

TEST(LatencyHistogram, EmptyReadsZero) {
    LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(0.5), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
    LatencyHistogram h;
    for (std::uint64_t v = 0; v < 16; v++) {
        h.record(v);
    }
    EXPECT_EQ(h.count(), 16u);
    EXPECT_EQ(h.percentile(0.5), 7u);  // rank 8 of 0..15
    EXPECT_EQ(h.percentile(1.0), 15u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.sum(), 120u);
}

TEST(LatencyHistogram, BucketsCoverEveryValueInOrder) {
    // Every value lies in its bucket's range, and buckets grow with the value.
    std::uint64_t last_upper = 0;
    for (std::size_t b = 0; b < LatencyHistogram::buckets_count; b++) {
        std::uint64_t upper = LatencyHistogram::bucket_upper(b);
        EXPECT_EQ(LatencyHistogram::bucket_of(upper), b);
        if (b > 0) {
            EXPECT_EQ(LatencyHistogram::bucket_of(last_upper + 1), b);
            EXPECT_GT(upper, last_upper);
        }
        last_upper = upper;
    }
    EXPECT_EQ(last_upper, UINT64_MAX);
    EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::buckets_count - 1);
}

TEST(LatencyHistogram, PercentilesWithinOneSixteenth) {
    // 1..100000 (µs-like values): nearest-rank percentiles of a uniform spread.
    LatencyHistogram h;
    for (std::uint64_t v = 1; v <= 100000; v++) {
        h.record(v);
    }
    struct Case {
        double q;
        double exact;
    };
    for (Case c : {Case{0.5, 50000}, Case{0.99, 99000}, Case{0.999, 99900}, Case{0.1, 10000}}) {
        auto got = static_cast<double>(h.percentile(c.q));
        EXPECT_GE(got, c.exact) << c.q;  // the upper bound of the bucket
        EXPECT_LE(got, c.exact * (1.0 + 1.0 / 16)) << c.q;
    }
    EXPECT_EQ(h.percentile(1.0), 100000u);  // clamped to the largest value seen
    EXPECT_EQ(h.max(), 100000u);
}

TEST(LatencyHistogram, TailIsSeenAndClampedToMax) {
    LatencyHistogram h;
    for (int i = 0; i < 990; i++) {
        h.record(20'000);  // 20 µs in ns
    }
    for (int i = 0; i < 10; i++) {
        h.record(3'000'000);  // 3 ms
    }
    EXPECT_LE(h.percentile(0.99), 20'000u + 20'000u / 16);
    EXPECT_GE(h.percentile(0.99), 20'000u);
    EXPECT_EQ(h.percentile(0.999), 3'000'000u);
    EXPECT_EQ(h.max(), 3'000'000u);
}

TEST(LatencyHistogram, MergeAddsAndResetClears) {
    LatencyHistogram a;
    LatencyHistogram b;
    a.record(100);
    a.record(200);
    b.record(5);
    b.record(1'000'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 4u);
    EXPECT_EQ(a.min(), 5u);
    EXPECT_EQ(a.max(), 1'000'000u);
    EXPECT_EQ(a.sum(), 1'000'305u);
    EXPECT_EQ(a.percentile(0.25), 5u);
    LatencyHistogram empty;
    a.merge(empty);  // merging nothing changes nothing (min stays)
    EXPECT_EQ(a.min(), 5u);
    a.reset();
    EXPECT_EQ(a.count(), 0u);
    EXPECT_EQ(a.percentile(0.99), 0u);
}

}  // namespace
}  // namespace pylon::engine
