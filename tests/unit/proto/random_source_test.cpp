// RandomSource: FixedRandom repeats its pattern (zeros when empty) across calls; the CSPRNG
// fills whole buffers and does not repeat.
#include "proto/random_source.hpp"

#include <gtest/gtest.h>

#include <array>

namespace pylon::proto {
namespace {

TEST(RandomSource, FixedRepeatsItsPattern) {
    FixedRandom r({1, 2, 3});
    std::array<uint8_t, 4> a{};
    std::array<uint8_t, 4> b{};
    r.fill(a);
    r.fill(b);
    EXPECT_EQ(a, (std::array<uint8_t, 4>{1, 2, 3, 1}));
    EXPECT_EQ(b, (std::array<uint8_t, 4>{2, 3, 1, 2}));
    FixedRandom zeros;
    a.fill(9);
    zeros.fill(a);
    EXPECT_EQ(a, (std::array<uint8_t, 4>{}));
}

TEST(RandomSource, CsprngFillsAndDiffers) {
    std::array<uint8_t, 64> a{};
    std::array<uint8_t, 64> b{};
    csprng().fill(a);
    csprng().fill(b);
    EXPECT_NE(a, b);
    EXPECT_NE(a, (std::array<uint8_t, 64>{}));
}

}  // namespace
}  // namespace pylon::proto
