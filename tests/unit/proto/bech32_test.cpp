// Bech32: BIP-173 valid and invalid test strings (checksum, mixed case, charset, separator),
// and round trips.
#include "proto/bech32.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"

namespace pylon::proto {
namespace {

TEST(Bech32, Bip173Checksums) {
    std::string hrp;
    std::vector<uint8_t> data;
    // Valid BIP-173 strings whose payload is a whole number of bytes.
    EXPECT_EQ(bech32_decode("A12UEL5L", 90, hrp, data), Reject::none);
    EXPECT_EQ(hrp, "a");
    EXPECT_TRUE(data.empty());
    EXPECT_EQ(bech32_decode("a12uel5l", 90, hrp, data), Reject::none);
    EXPECT_EQ(bech32_decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", 90, hrp, data),
              Reject::none);
    EXPECT_EQ(hrp, "abcdef");
    // Invalid ones.
    EXPECT_EQ(bech32_decode("pzry9x0s0muk", 90, hrp, data), Reject::bad_bech32);   // no separator
    EXPECT_EQ(bech32_decode("1pzry9x0s0muk", 90, hrp, data), Reject::bad_bech32);  // empty hrp
    EXPECT_EQ(bech32_decode("x1b4n0q5v", 90, hrp, data), Reject::bad_bech32);      // b not allowed
    EXPECT_EQ(bech32_decode("li1dgmt3", 90, hrp, data), Reject::bad_bech32);       // too short
    EXPECT_EQ(bech32_decode("A1G7SGD8", 90, hrp, data), Reject::bad_checksum);
    EXPECT_EQ(bech32_decode("A12uEL5L", 90, hrp, data), Reject::bad_bech32);  // mixed case
    EXPECT_EQ(bech32_decode(std::string("\x20") + "1nwldj5", 90, hrp, data), Reject::bad_bech32);
    EXPECT_EQ(bech32_decode("a12uel5l", 7, hrp, data), Reject::too_large);
}

TEST(Bech32, RoundTrip) {
    for (size_t n : {0u, 1u, 5u, 32u, 100u}) {
        std::vector<uint8_t> in(n);
        for (size_t i = 0; i < n; ++i) {
            in[i] = static_cast<uint8_t>(i * 37 + 11);
        }
        std::string text = bech32_encode("test", in);
        std::string hrp;
        std::vector<uint8_t> out;
        ASSERT_EQ(bech32_decode(text, 5000, hrp, out), Reject::none) << text;
        EXPECT_EQ(out, in);
        EXPECT_EQ(hrp, "test");
    }
}

}  // namespace
}  // namespace pylon::proto
