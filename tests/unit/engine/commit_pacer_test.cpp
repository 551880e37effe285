#include "engine/commit_pacer.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

CommitPacer::Options options(std::int64_t wait_us = 500, std::uint64_t jobs_min = 32,
                             std::size_t batch_max = 1000) {
    return CommitPacer::Options{wait_us, jobs_min, batch_max};
}

// Takes `batches` batches of `size` requests, `gap_us` apart, from t = 0.
void feed(CommitPacer& p, int batches, std::size_t size, std::int64_t gap_us) {
    for (int i = 0; i < batches; i++) {
        p.took(size, static_cast<std::int64_t>(i) * gap_us);
    }
}

TEST(CommitPacer, TheFirstBatchNeverWaits) {
    CommitPacer p(options());
    EXPECT_EQ(p.gather_target(1, 1000), 0u);  // no rate known yet
    p.took(1, 0);
    EXPECT_EQ(p.gather_target(1, 1000), 0u) << "one take gives no rate";
    EXPECT_EQ(p.arrivals_per_us(), 0.0);
}

TEST(CommitPacer, UnderLoadItWaitsForHalfTheOpenJobs) {
    CommitPacer p(options());
    feed(p, 20, 20, 100);  // 0.2 requests per µs: 100 within the 500 µs wait
    EXPECT_NEAR(p.arrivals_per_us(), 0.2, 0.01);
    EXPECT_EQ(p.gather_target(1, 256), 128u);
    EXPECT_EQ(p.gather_target(127, 256), 128u);
    EXPECT_EQ(p.gather_target(128, 256), 0u) << "already half the open jobs queued";
}

TEST(CommitPacer, BelowTheJobsMinimumItNeverWaits) {
    CommitPacer p(options());
    feed(p, 20, 20, 100);
    EXPECT_EQ(p.gather_target(1, 31), 0u);
    EXPECT_EQ(p.gather_target(1, 32), 16u);
}

TEST(CommitPacer, ManyOpenJobsAtALowRequestRateDoNotWait) {
    CommitPacer p(options());
    feed(p, 20, 1, 1000);  // one request per ms: 0.5 expected within the wait
    EXPECT_NEAR(p.arrivals_per_us(), 0.001, 0.0001);
    EXPECT_EQ(p.gather_target(1, 1000), 0u);
    feed(p, 20, 1, 400);  // one per 400 µs: more than one within the wait
    EXPECT_EQ(p.gather_target(1, 1000), 500u);
}

// After a burst (0.2 requests per µs) the load stops: lone requests 50 ms apart. The average
// falls by a quarter per batch, so the lone requests pay the wait (500 µs each) for ~16 batches
// (0.2 x 0.75^16 < 1/500), and not after 20.
TEST(CommitPacer, AfterABurstTheWaitStopsWithinTwentyLoneBatches) {
    CommitPacer p(options());
    feed(p, 20, 20, 100);
    ASSERT_GT(p.gather_target(1, 256), 0u);
    std::int64_t t = 19 * 100;
    int waited = 0;
    for (int i = 0; i < 20; i++) {
        waited += p.gather_target(1, 256) > 0 ? 1 : 0;
        t += 50'000;
        p.took(1, t);
    }
    EXPECT_EQ(p.gather_target(1, 256), 0u) << p.arrivals_per_us();
    EXPECT_GE(waited, 10);
    EXPECT_LE(waited, 17);
}

TEST(CommitPacer, TheTargetIsBoundedByTheBatchAndTheWaitCanBeOff) {
    CommitPacer bounded(options(500, 32, 64));
    feed(bounded, 20, 20, 100);
    EXPECT_EQ(bounded.gather_target(1, 10'000), 64u);
    CommitPacer off(options(0));
    feed(off, 20, 20, 100);
    EXPECT_EQ(off.gather_target(1, 10'000), 0u);
}

TEST(CommitPacer, TakesAtTheSameMicrosecondDoNotDivideByZero) {
    CommitPacer p(options());
    p.took(10, 5);
    p.took(10, 5);
    EXPECT_NEAR(p.arrivals_per_us(), 2.5, 1e-9);  // 10 per (at least) 1 µs, weight 1/4
}

}  // namespace
}  // namespace pylon::engine
