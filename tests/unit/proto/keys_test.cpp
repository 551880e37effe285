// Keys: the BIP-340 CSV (all 19 rows: signing with the given aux reproduces the signature,
// including the variable-length messages through sign_custom; verification gives the expected
// result), secret-key range checks, ECDH symmetry and concurrent use of the shared context.
#include "proto/keys.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
        out.push_back(cell);
    }
    if (!line.empty() && line.back() == ',') {
        out.emplace_back();
    }
    return out;
}

std::string lower(std::string s) {
    for (char& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

TEST(Keys, Bip340CsvVectors) {
    std::string text = test::read_text_file(test::vectors_path("bip340-test-vectors.csv"));
    ASSERT_FALSE(text.empty());
    std::stringstream lines(text);
    std::string line;
    std::getline(lines, line);  // header
    size_t rows = 0;
    size_t signed_rows = 0;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        auto cells = split_csv_line(line);
        ASSERT_GE(cells.size(), 7u) << line;
        const std::string& secret_hex = cells[1];
        PublicKey pub(test::unhex_array<32>(cells[2]));
        auto aux = cells[3].empty() ? std::array<uint8_t, 32>{} : test::unhex_array<32>(cells[3]);
        std::vector<uint8_t> msg = test::unhex(cells[4]);
        auto sig = test::unhex_array<64>(cells[5]);
        bool expected = cells[6] == "TRUE";
        SCOPED_TRACE("row " + cells[0]);

        if (!secret_hex.empty()) {
            auto sk = SecretKey::from_hex(secret_hex);
            ASSERT_TRUE(sk.ok());
            auto kp = Keypair::from_secret(sk.value());
            ASSERT_TRUE(kp.ok());
            EXPECT_EQ(kp->public_key(), pub);
            SignatureBytes ours =
                msg.size() == 32 ? kp->sign32_aux(std::span<const uint8_t, 32>(msg.data(), 32), aux)
                                 : kp->sign_custom(msg, aux);
            EXPECT_EQ(hex_encode(ours), lower(cells[5]));
            ++signed_rows;
        }
        EXPECT_EQ(schnorr_verify(pub, msg, sig), expected);
        ++rows;
    }
    EXPECT_EQ(rows, 19u);
    EXPECT_EQ(signed_rows, 8u);
}

// verify() keeps the keys it parsed (a per-thread cache): a key seen before must give the same
// answers as a fresh parse, a key sharing its slot (same first bytes) must not be mistaken for it,
// and more keys than the cache holds must all still verify.
TEST(Keys, VerifyGivesTheSameAnswersForKeysItHasSeen) {
    std::array<uint8_t, 32> msg{};
    msg[0] = 7;
    std::vector<Keypair> keys;
    std::vector<SignatureBytes> sigs;
    for (int i = 0; i < 600; i++) {
        auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
        ASSERT_TRUE(kp.ok());
        sigs.push_back(kp->sign32(msg, csprng()));
        keys.push_back(std::move(kp).value());
    }
    for (int round = 0; round < 3; round++) {
        SCOPED_TRACE("round " + std::to_string(round));
        for (std::size_t i = 0; i < keys.size(); i++) {
            const PublicKey& pub = keys[i].public_key();
            ASSERT_TRUE(schnorr_verify(pub, msg, sigs[i])) << i;
            // Another key's signature, and this signature for another message: refused.
            ASSERT_FALSE(schnorr_verify(pub, msg, sigs[(i + 1) % sigs.size()])) << i;
            std::array<uint8_t, 32> other = msg;
            other[1] = 1;
            ASSERT_FALSE(schnorr_verify(pub, other, sigs[i])) << i;
            // The same first bytes (the same cache slot), another last byte: not this key.
            PublicKey near = pub;
            near.bytes()[31] ^= 1;
            ASSERT_FALSE(schnorr_verify(near, msg, sigs[i])) << i;
            ASSERT_TRUE(schnorr_verify(pub, msg, sigs[i])) << i;
        }
    }
    // A key that is not on the curve is refused every time (never kept).
    PublicKey off;
    ASSERT_TRUE(off.set_hex(std::string(64, 'f')));
    for (int i = 0; i < 3; i++) {
        EXPECT_FALSE(schnorr_verify(off, msg, sigs[0]));
    }
}

TEST(Keys, SecretKeyRange) {
    EXPECT_FALSE(SecretKey::from_hex(std::string(64, '0')).ok());
    EXPECT_FALSE(
        SecretKey::from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .ok());
    EXPECT_TRUE(
        SecretKey::from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140")
            .ok());
    EXPECT_FALSE(SecretKey::from_hex("zz").ok());
    auto generated = SecretKey::generate(csprng());
    EXPECT_TRUE(Keypair::from_secret(generated).ok());
}

TEST(Keys, PublicKeyHexAndCurve) {
    PublicKey pk;
    EXPECT_FALSE(pk.set_hex("ABCD"));
    EXPECT_FALSE(pk.set_hex(std::string(64, 'F')));
    EXPECT_TRUE(pk.set_hex(std::string(64, 'f')));
    EXPECT_FALSE(pk.on_curve());
    EXPECT_TRUE(pk.set_hex("17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917"));
    EXPECT_TRUE(pk.on_curve());
    EXPECT_EQ(pk.hex(), "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917");
}

TEST(Keys, EcdhIsSymmetric) {
    auto a = Keypair::from_secret(SecretKey::generate(csprng()));
    auto b = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(a.ok() && b.ok());
    SecretBytes<32> ab;
    SecretBytes<32> ba;
    ASSERT_TRUE(ecdh_shared_x(a->secret(), b->public_key(), ab));
    ASSERT_TRUE(ecdh_shared_x(b->secret(), a->public_key(), ba));
    EXPECT_EQ(hex_encode(ab.span()), hex_encode(ba.span()));
    PublicKey off_curve;
    ASSERT_TRUE(off_curve.set_hex(std::string(64, 'f')));
    EXPECT_FALSE(ecdh_shared_x(a->secret(), off_curve, ab));
}

TEST(Keys, SharedContextIsSafeFromSeveralThreads) {
    auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(kp.ok());
    constexpr int rounds_per_thread = 200;
    std::atomic<int> failures{0};
    auto work = [&](uint8_t seed) {
        std::array<uint8_t, 32> msg{};
        for (int i = 0; i < rounds_per_thread; ++i) {
            msg[0] = seed;
            msg[1] = static_cast<uint8_t>(i);
            SignatureBytes sig = kp->sign32(msg, csprng());
            if (!schnorr_verify(kp->public_key(), msg, sig)) {
                failures.fetch_add(1);
            }
        }
    };
    std::thread t1(work, uint8_t{1});
    std::thread t2(work, uint8_t{2});
    t1.join();
    t2.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST(Keys, FreshAuxGivesDifferentValidSignatures) {
    auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(kp.ok());
    std::array<uint8_t, 32> msg{};
    msg[5] = 7;
    SignatureBytes s1 = kp->sign32(msg, csprng());
    SignatureBytes s2 = kp->sign32(msg, csprng());
    EXPECT_NE(s1, s2);
    EXPECT_TRUE(schnorr_verify(kp->public_key(), msg, s1));
    EXPECT_TRUE(schnorr_verify(kp->public_key(), msg, s2));
}

}  // namespace
}  // namespace pylon::proto
