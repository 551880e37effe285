#include "engine/reconnect_backoff.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(ReconnectBackoff, DoublesFromOneSecondToAMinute) {
    ReconnectBackoff b(BackoffOptions{});
    std::int64_t expect[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (unsigned i = 0; i < 8; i++) {
        EXPECT_EQ(b.base_delay_ms(i + 1), expect[i]);
    }
    EXPECT_EQ(b.base_delay_ms(1000), 60000);
}

TEST(ReconnectBackoff, JitterStaysWithinTwentyPercentAndUnderTheMax) {
    reactor::Rng rng(42);
    for (int run = 0; run < 200; run++) {
        ReconnectBackoff b(BackoffOptions{});
        for (unsigned attempt = 1; attempt <= 10; attempt++) {
            std::int64_t d = b.on_failure(0, rng);
            std::int64_t base = b.base_delay_ms(attempt);
            EXPECT_GE(d, base * 8 / 10);
            EXPECT_LE(d, std::min<std::int64_t>(base * 12 / 10, 60000));
        }
    }
}

TEST(ReconnectBackoff, AStableMinuteResetsTheSchedule) {
    reactor::Rng rng(7);
    BackoffOptions o;
    o.jitter_percent = 0;
    ReconnectBackoff b(o);
    EXPECT_EQ(b.on_failure(0, rng), 1000);
    EXPECT_EQ(b.on_failure(1000, rng), 2000);
    b.on_connected(3000);
    EXPECT_EQ(b.on_failure(3000 + 59999, rng), 4000);  // up a little under a minute: keeps growing
    b.on_connected(70000);
    EXPECT_EQ(b.on_failure(70000 + 60000, rng), 1000);  // a stable minute: back to 1 s
    EXPECT_EQ(b.failures(), 1u);
}

}  // namespace
}  // namespace pylon::engine
