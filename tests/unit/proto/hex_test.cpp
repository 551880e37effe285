// Hex: lowercase encoding, strict lowercase decoding by default, any-case when asked.
#include "proto/hex.hpp"

#include <gtest/gtest.h>

namespace pylon::proto {
namespace {

TEST(Hex, RoundTripAndStrictness) {
    std::array<uint8_t, 4> bytes = {0x00, 0xab, 0x7f, 0xff};
    EXPECT_EQ(hex_encode(bytes), "00ab7fff");
    EXPECT_EQ(hex_of(bytes).view(), "00ab7fff");  // the same text without a heap string
    std::array<uint8_t, 4> out{};
    EXPECT_TRUE(hex_decode("00ab7fff", out));
    EXPECT_EQ(out, bytes);
    EXPECT_FALSE(hex_decode("00AB7FFF", out));
    EXPECT_TRUE(hex_decode("00AB7FFF", out, HexCase::any));
    EXPECT_FALSE(hex_decode("00ab7ff", out));
    EXPECT_FALSE(hex_decode("00ab7fffff", out));
    EXPECT_FALSE(hex_decode("00ab7fg0", out));
    EXPECT_FALSE(hex_decode("00ab 7ff", out));
    std::vector<uint8_t> v;
    EXPECT_TRUE(hex_decode_vector("", v));
    EXPECT_TRUE(v.empty());
    EXPECT_FALSE(hex_decode_vector("abc", v));
}

}  // namespace
}  // namespace pylon::proto
