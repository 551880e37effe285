#include "engine/partial_throttle.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(PartialThrottle, AtMostOnePerIntervalAndOnlyWithNewText) {
    PartialThrottle t(500, 1000);
    EXPECT_FALSE(t.due(1000, 10));  // right at the start: the first one waits an interval
    EXPECT_FALSE(t.due(1499, 10));
    EXPECT_TRUE(t.due(1500, 10));
    t.sent(1500, 10);
    EXPECT_FALSE(t.due(1900, 20));
    EXPECT_FALSE(t.due(2100, 10));  // an interval passed but no new text
    EXPECT_TRUE(t.due(2000, 11));
    t.sent(2000, 11);
    EXPECT_EQ(t.count(), 2u);
}

TEST(PartialThrottle, ZeroTurnsItOff) {
    PartialThrottle t(0, 0);
    EXPECT_FALSE(t.enabled());
    EXPECT_FALSE(t.due(1'000'000, 100));
}

// Tokens arriving every 10 ms for 3 s give at most 6 partials at 500 ms.
TEST(PartialThrottle, BoundedRateOverAStream) {
    PartialThrottle t(500, 0);
    std::size_t text = 0;
    for (std::int64_t now = 10; now <= 3000; now += 10) {
        text += 5;
        if (t.due(now, text)) {
            t.sent(now, text);
        }
    }
    EXPECT_EQ(t.count(), 6u);
}

}  // namespace
}  // namespace pylon::engine
