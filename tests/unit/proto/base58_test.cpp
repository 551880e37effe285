// Base58: Base58Check round trips with leading zeros, checksum and alphabet failures.
#include "proto/base58.hpp"

#include <gtest/gtest.h>

namespace pylon::proto {
namespace {

TEST(Base58, CheckRoundTrip) {
    std::vector<uint8_t> payload = {0, 0, 1, 2, 3, 255};
    std::string text = base58check_encode(payload);
    EXPECT_EQ(text.substr(0, 2), "11");
    std::vector<uint8_t> back;
    ASSERT_TRUE(base58check_decode(text, back));
    EXPECT_EQ(back, payload);
    std::string bad = text;
    bad.back() = bad.back() == '2' ? '3' : '2';
    EXPECT_FALSE(base58check_decode(bad, back));
    EXPECT_FALSE(base58check_decode("0OIl", back));
    EXPECT_FALSE(base58check_decode("", back));
    EXPECT_FALSE(base58check_decode(std::string(200, '2'), back));
    // A known address: version 0 + 20 zero bytes.
    std::vector<uint8_t> zero(21, 0);
    EXPECT_EQ(base58check_encode(zero), "1111111111111111111114oLvT2");
}

}  // namespace
}  // namespace pylon::proto
