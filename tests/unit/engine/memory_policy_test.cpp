#include "engine/memory_policy.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

constexpr std::uint64_t GiB = 1ULL << 30;
constexpr std::uint64_t MiB = 1ULL << 20;

MemInfo mem(std::uint64_t available, std::uint64_t anon, std::uint64_t total = 24 * GiB) {
    MemInfo m;
    m.total_bytes = total;
    m.available_bytes = available;
    m.anon_bytes = anon;
    return m;
}

TEST(MemoryPolicy, AutopilotdDefaultsOnALargeMachine) {
    MemoryThresholds t;
    // 22 GiB + 2 GiB base: 10% = 2.4 GiB, so the 2 GiB of min_available_bytes applies.
    auto a = assess_memory(mem(22 * GiB, 2 * GiB), t, MemoryLevel::normal);
    EXPECT_EQ(a.level, MemoryLevel::normal);
    EXPECT_EQ(a.low_threshold_bytes, 2 * GiB);
    EXPECT_EQ(a.critical_threshold_bytes, 1 * GiB);
    EXPECT_EQ(assess_memory(mem(2 * GiB, 20 * GiB), t, MemoryLevel::normal).level,
              MemoryLevel::low);
    EXPECT_EQ(assess_memory(mem(GiB, 20 * GiB), t, MemoryLevel::normal).level,
              MemoryLevel::critical);
}

TEST(MemoryPolicy, PercentagesOfUserMemoryWinWhenLower) {
    MemoryThresholds t;
    // A 4 GiB machine: base 3 GiB + 0.5 GiB; 10% = 358 MiB < 2 GiB, so the percentage applies.
    MemInfo m = mem(3 * GiB, GiB / 2, 4 * GiB);
    auto a = assess_memory(m, t, MemoryLevel::normal);
    EXPECT_EQ(a.low_threshold_bytes, (3 * GiB + GiB / 2) / 10);
    EXPECT_EQ(a.critical_threshold_bytes, (3 * GiB + GiB / 2) / 20);
    EXPECT_EQ(assess_memory(mem(300 * MiB, 3 * GiB, 4 * GiB), t, MemoryLevel::normal).level,
              MemoryLevel::low);
    EXPECT_EQ(assess_memory(mem(150 * MiB, 3 * GiB, 4 * GiB), t, MemoryLevel::normal).level,
              MemoryLevel::critical);
}

TEST(MemoryPolicy, RecoveryNeedsTheMargin) {
    MemoryThresholds t;
    MemInfo just_above = mem(2 * GiB + 100 * MiB, 20 * GiB);
    EXPECT_EQ(assess_memory(just_above, t, MemoryLevel::normal).level, MemoryLevel::normal);
    EXPECT_EQ(assess_memory(just_above, t, MemoryLevel::low).level, MemoryLevel::low);
    EXPECT_EQ(assess_memory(mem(2 * GiB + 300 * MiB, 20 * GiB), t, MemoryLevel::low).level,
              MemoryLevel::normal);
    EXPECT_EQ(assess_memory(mem(GiB + 50 * MiB, 20 * GiB), t, MemoryLevel::critical).level,
              MemoryLevel::critical);
}

TEST(MemoryPolicy, FreeSwapKeepsMemoryFromBeingShort) {
    MemoryThresholds t;
    MemInfo m = mem(GiB / 2, 20 * GiB);
    m.swap_total_bytes = 8 * GiB;
    m.swap_free_bytes = 6 * GiB;
    EXPECT_EQ(assess_memory(m, t, MemoryLevel::normal).level, MemoryLevel::normal);
    m.swap_free_bytes = GiB / 2;  // 6%: low, not yet critical
    EXPECT_EQ(assess_memory(m, t, MemoryLevel::normal).level, MemoryLevel::low);
    m.swap_free_bytes = 0;
    EXPECT_EQ(assess_memory(m, t, MemoryLevel::normal).level, MemoryLevel::critical);
}

TEST(MemoryPolicy, IntervalFollowsTheHeadroom) {
    MemoryThresholds t;
    // 20 GiB of headroom takes over 1 s to fill at 6000 MiB/s: the slowest poll.
    EXPECT_EQ(assess_memory(mem(22 * GiB, GiB), t, MemoryLevel::normal).next_poll_ms, 1000);
    // 3000 MiB of headroom: 500 ms.
    EXPECT_EQ(
        assess_memory(mem(2 * GiB + 3000 * MiB, 20 * GiB), t, MemoryLevel::normal).next_poll_ms,
        500);
    // Little headroom: the fastest poll; under pressure too.
    EXPECT_EQ(
        assess_memory(mem(2 * GiB + 100 * MiB, 20 * GiB), t, MemoryLevel::normal).next_poll_ms,
        100);
    EXPECT_EQ(assess_memory(mem(GiB, 20 * GiB), t, MemoryLevel::normal).next_poll_ms, 100);
}

}  // namespace
}  // namespace pylon::engine
