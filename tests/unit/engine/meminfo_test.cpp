#include "engine/meminfo.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

constexpr const char* sample =
    "MemTotal:       24683656 kB\n"
    "MemFree:        20475320 kB\n"
    "MemAvailable:   22978068 kB\n"
    "Buffers:           12496 kB\n"
    "Cached:          2654328 kB\n"
    "SwapCached:            0 kB\n"
    "Active(anon):       1680 kB\n"
    "SwapTotal:             0 kB\n"
    "SwapFree:              0 kB\n"
    "AnonPages:       1150372 kB\n"
    "Shmem:              8952 kB\n"
    "HugePages_Total:       0\n";

TEST(MemInfo, ParsesTheFieldsInBytes) {
    auto m = parse_meminfo(sample);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->total_bytes, 24683656ULL * 1024);
    EXPECT_EQ(m->available_bytes, 22978068ULL * 1024);
    EXPECT_EQ(m->anon_bytes, 1150372ULL * 1024);  // not Active(anon)
    EXPECT_EQ(m->swap_total_bytes, 0U);
    EXPECT_FALSE(m->available_estimated);
}

TEST(MemInfo, EstimatesMemAvailableOnOldKernels) {
    auto m = parse_meminfo(
        "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 50 kB\n"
        "Shmem: 20 kB\n");
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(m->available_estimated);
    EXPECT_EQ(m->available_bytes, 140U * 1024);
}

TEST(MemInfo, RefusesWhatIsNotMeminfo) {
    EXPECT_FALSE(parse_meminfo("").ok());
    EXPECT_FALSE(parse_meminfo("MemFree: 100 kB\n").ok());
    EXPECT_FALSE(parse_meminfo("MemTotal: 1000 kB\n").ok());
    EXPECT_FALSE(parse_meminfo("MemTotal: x kB\nMemAvailable: 5 kB\n").ok());
}

}  // namespace
}  // namespace pylon::engine
