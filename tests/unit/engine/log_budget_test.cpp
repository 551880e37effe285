#include "engine/log_budget.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(LogBudget, AllowsLinesMaxPerWindowAndReportsWhatItHeldBack) {
    LogBudget b(3, 60000);
    std::uint64_t held = 99;
    for (int i = 0; i < 3; i++) {
        EXPECT_TRUE(b.allow(1000 + i, held));
        EXPECT_EQ(held, 0u);
    }
    for (int i = 0; i < 1000; i++) {
        EXPECT_FALSE(b.allow(2000 + i, held));
    }
    EXPECT_EQ(b.held(), 1000u);
    EXPECT_EQ(b.flush(30000), 0u);      // the window has not ended: nothing to report yet
    EXPECT_TRUE(b.allow(61000, held));  // a new window: the first line reports the 1000 first
    EXPECT_EQ(held, 1000u);
    EXPECT_EQ(b.held(), 0u);
}

TEST(LogBudget, FlushReportsHeldLinesOnceTheWindowEnded) {
    LogBudget b(1, 10000);
    std::uint64_t held = 0;
    EXPECT_TRUE(b.allow(0, held));
    EXPECT_FALSE(b.allow(5, held));
    EXPECT_FALSE(b.allow(6, held));
    EXPECT_EQ(b.flush(9999), 0u);
    EXPECT_EQ(b.flush(10000), 2u);
    EXPECT_EQ(b.flush(20000), 0u);  // reported once
    EXPECT_TRUE(b.allow(20001, held));
    EXPECT_EQ(held, 0u);
}

}  // namespace
}  // namespace pylon::engine
