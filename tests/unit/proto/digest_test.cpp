// Digest: SHA-256, HMAC-SHA256/512 (RFC 4231 case 2), HKDF (RFC 5869 case 1), HASH160, PBKDF2
// and the constant-time compare.
#include "proto/digest.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Digest, KnownAnswers) {
    EXPECT_EQ(hex_encode(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::array<uint8_t, 32> h256{};
    hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?"), h256);
    EXPECT_EQ(hex_encode(h256), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    std::array<uint8_t, 64> h512{};
    hmac_sha512(bytes("Jefe"), bytes("what do ya want for nothing?"), h512);
    EXPECT_EQ(hex_encode(h512),
              "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d0"
              "34f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    auto ikm = test::unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    auto salt = test::unhex("000102030405060708090a0b0c");
    auto info = test::unhex("f0f1f2f3f4f5f6f7f8f9");
    std::array<uint8_t, 32> prk{};
    hkdf_sha256_extract(salt, ikm, prk);
    EXPECT_EQ(hex_encode(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    std::array<uint8_t, 42> okm{};
    hkdf_sha256_expand(prk, info, okm);
    EXPECT_EQ(
        hex_encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    EXPECT_EQ(hex_encode(hash160(bytes("abc"))), "bb1be98c142444d7a56aa3981c3942a978e4dc33");
    std::array<uint8_t, 64> seed{};
    pbkdf2_sha512("password", bytes("salt"), 1, seed);
    EXPECT_EQ(hex_encode(seed).substr(0, 32), "867f70cf1ade02cff3752599a3a53dc4");
    EXPECT_TRUE(equal_constant_time(bytes("abc"), bytes("abc")));
    EXPECT_FALSE(equal_constant_time(bytes("abc"), bytes("abd")));
    EXPECT_FALSE(equal_constant_time(bytes("abc"), bytes("ab")));
}

}  // namespace
}  // namespace pylon::proto
