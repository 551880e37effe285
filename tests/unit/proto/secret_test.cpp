// SecretBytes: copies are independent, wipe() zeroes the bytes.
#include "proto/secret.hpp"

#include <gtest/gtest.h>

namespace pylon::proto {
namespace {

TEST(SecretBytes, WipeAndCopy) {
    std::array<uint8_t, 4> raw = {1, 2, 3, 4};
    SecretBytes<4> s{std::span<const uint8_t, 4>(raw)};
    SecretBytes<4> copy = s;
    s.wipe();
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(s[i], 0);
        EXPECT_EQ(copy[i], raw[i]);
    }
    EXPECT_EQ(SecretBytes<4>::size(), 4u);
}

}  // namespace
}  // namespace pylon::proto
