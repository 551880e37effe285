#include "engine/restart_policy.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(RestartPolicy, SystemdGeometricStepsFromOneToSixtySeconds) {
    RestartPolicy p;  // defaults: 1 s -> 60 s in 6 steps
    const std::int64_t expected[] = {1000, 1979, 3915, 7746, 15326, 30324, 60000, 60000, 60000};
    for (unsigned n = 1; n <= 9; n++) {
        EXPECT_EQ(p.base_delay_ms(n), expected[n - 1]) << "attempt " << n;
    }
}

TEST(RestartPolicy, CapWithoutStepsIsIgnoredAsSystemdDoes) {
    RestartPolicy p;
    p.backoff_steps = 0;
    EXPECT_EQ(p.base_delay_ms(1), 1000);
    EXPECT_EQ(p.base_delay_ms(7), 1000);
}

TEST(RestartPolicy, JitterStaysWithinTenPercentAndIsSeeded) {
    RestartPolicy p;
    reactor::Rng a(42);
    reactor::Rng b(42);
    bool below = false;
    bool above = false;
    for (int i = 0; i < 1000; i++) {
        std::int64_t d = p.delay_ms(7, a);
        EXPECT_EQ(d, p.delay_ms(7, b));  // same seed, same schedule
        EXPECT_GE(d, 54000);
        EXPECT_LE(d, 66000);
        below = below || d < 59000;
        above = above || d > 61000;
    }
    EXPECT_TRUE(below);
    EXPECT_TRUE(above);
}

TEST(RestartPolicy, NoJitterGivesTheBaseDelay) {
    RestartPolicy p;
    p.jitter_percent = 0;
    reactor::Rng rng(1);
    EXPECT_EQ(p.delay_ms(2, rng), 1979);
}

TEST(RestartPolicy, PermanentExitCodesAndModes) {
    RestartPolicy p;
    p.permanent_exit_codes = {78, 125};
    EXPECT_TRUE(p.is_permanent(125));
    EXPECT_FALSE(p.is_permanent(1));
    RestartMode m{};
    EXPECT_TRUE(parse_restart_mode("on-failure", m));
    EXPECT_EQ(m, RestartMode::on_failure);
    EXPECT_FALSE(parse_restart_mode("sometimes", m));
}

}  // namespace
}  // namespace pylon::engine
