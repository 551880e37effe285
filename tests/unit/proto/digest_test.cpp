// Digest: SHA-256, HMAC-SHA256/512 (RFC 4231 case 2), HKDF (RFC 5869 case 1), HASH160, PBKDF2
// and the constant-time compare; then each against OpenSSL's EVP implementation (the functions
// are built on the low-level hashes) over lengths around the block sizes.
#include "proto/digest.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

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

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; i++) {
        out[i] = static_cast<uint8_t>(seed + i * 31);
    }
    return out;
}

std::vector<uint8_t> evp_hmac(const EVP_MD* md, std::span<const uint8_t> key,
                              std::span<const uint8_t> data) {
    std::vector<uint8_t> out(static_cast<size_t>(EVP_MD_get_size(md)));
    unsigned int len = 0;
    static const uint8_t no_key = 0;  // HMAC() reads a null key as "the previous key"
    HMAC(md, key.empty() ? &no_key : key.data(), static_cast<int>(key.size()), data.data(),
         data.size(), out.data(), &len);
    EXPECT_EQ(len, out.size());
    return out;
}

TEST(Digest, MatchesOpenSslEvp) {
    // Keys shorter than, equal to and longer than a block (64 for SHA-256, 128 for SHA-512).
    for (size_t key_bytes :
         std::initializer_list<size_t>{0u, 1u, 32u, 63u, 64u, 65u, 127u, 128u, 129u, 300u}) {
        auto key = pattern(key_bytes, 7);
        for (size_t data_bytes :
             std::initializer_list<size_t>{0u, 1u, 55u, 56u, 64u, 111u, 112u, 128u, 1000u}) {
            auto data = pattern(data_bytes, 11);
            std::array<uint8_t, 32> h256{};
            hmac_sha256(key, data, h256);
            EXPECT_EQ(hex_encode(h256), hex_encode(evp_hmac(EVP_sha256(), key, data)))
                << key_bytes << " " << data_bytes;
            std::array<uint8_t, 64> h512{};
            hmac_sha512(key, data, h512);
            EXPECT_EQ(hex_encode(h512), hex_encode(evp_hmac(EVP_sha512(), key, data)))
                << key_bytes << " " << data_bytes;
            std::array<uint8_t, 32> plain{};
            unsigned int len = 0;
            EVP_Digest(data.data(), data.size(), plain.data(), &len, EVP_sha256(), nullptr);
            EXPECT_EQ(hex_encode(sha256(data)), hex_encode(plain));
        }
    }
    // PBKDF2 over several output blocks and round counts.
    for (uint32_t rounds : {1u, 2u, 5u, 2048u}) {
        for (size_t out_bytes : std::initializer_list<size_t>{1u, 63u, 64u, 65u, 130u}) {
            auto salt = pattern(20, 3);
            std::vector<uint8_t> ours(out_bytes);
            std::vector<uint8_t> theirs(out_bytes);
            pbkdf2_sha512("pass phrase", salt, rounds, ours);
            PKCS5_PBKDF2_HMAC("pass phrase", 11, salt.data(), static_cast<int>(salt.size()),
                              static_cast<int>(rounds), EVP_sha512(), static_cast<int>(out_bytes),
                              theirs.data());
            EXPECT_EQ(hex_encode(ours), hex_encode(theirs)) << rounds << " " << out_bytes;
        }
    }
    // HKDF-Expand (RFC 5869 2.3) spelled out with EVP's HMAC, over several output blocks.
    auto prk = pattern(32, 5);
    auto info = pattern(40, 9);
    for (size_t out_bytes : std::initializer_list<size_t>{1u, 32u, 33u, 64u, 100u, 255u}) {
        std::vector<uint8_t> ours(out_bytes);
        hkdf_sha256_expand(prk, info, ours);
        std::vector<uint8_t> expected;
        std::vector<uint8_t> t;
        for (uint8_t counter = 1; expected.size() < out_bytes; counter++) {
            std::vector<uint8_t> input = t;
            input.insert(input.end(), info.begin(), info.end());
            input.push_back(counter);
            t = evp_hmac(EVP_sha256(), prk, input);
            expected.insert(expected.end(), t.begin(), t.end());
        }
        expected.resize(out_bytes);
        EXPECT_EQ(hex_encode(ours), hex_encode(expected)) << out_bytes;
    }
    // HKDF-Extract without salt is HMAC under HashLen zero bytes.
    std::array<uint8_t, 32> prk_unsalted{};
    hkdf_sha256_extract({}, info, prk_unsalted);
    std::vector<uint8_t> zeros(32, 0);
    EXPECT_EQ(hex_encode(prk_unsalted), hex_encode(evp_hmac(EVP_sha256(), zeros, info)));
}

}  // namespace
}  // namespace pylon::proto
