// ExtendedKey: BIP-32 test vectors 1-5: every chain's private key, chain code, depth, parent
// fingerprint, child number, compressed public key and the published xprv/xpub strings; the
// invalid extended keys of vector 5 are all refused; path parsing is strict.
#include "proto/extended_key.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

using test::str;

TEST(ExtendedKey, Bip32ValidVectors) {
    test::VectorFile f("bip32-vectors.json");
    size_t chains = 0;
    for (simdjson::dom::element v : test::arr(f.root(), "valid")) {
        auto seed = test::unhex(str(v, "seed_hex"));
        auto master = ExtendedKey::from_seed(seed);
        ASSERT_TRUE(master.ok());
        for (simdjson::dom::element c : test::arr(v, "chains")) {
            SCOPED_TRACE(std::string(str(c, "path")));
            auto key = master->derive_path(str(c, "path"));
            ASSERT_TRUE(key.ok()) << key.error().message();
            EXPECT_EQ(hex_encode(key->secret()), str(c, "decoded_private_key_hex"));
            EXPECT_EQ(hex_encode(key->chain_code()), str(c, "decoded_chain_code_hex"));
            EXPECT_EQ(key->depth(), test::num(c, "decoded_depth"));
            EXPECT_EQ(key->child_number(), test::num(c, "decoded_child_number"));
            std::array<uint8_t, 4> fp{};
            uint32_t parent = key->parent_fingerprint();
            fp = {static_cast<uint8_t>(parent >> 24), static_cast<uint8_t>(parent >> 16),
                  static_cast<uint8_t>(parent >> 8), static_cast<uint8_t>(parent)};
            EXPECT_EQ(hex_encode(fp), str(c, "decoded_parent_fingerprint_hex"));
            EXPECT_EQ(hex_encode(key->public_key_compressed()),
                      str(c, "decoded_public_key_compressed_hex"));
            EXPECT_EQ(key->to_xprv(), str(c, "xprv"));
            EXPECT_EQ(key->to_xpub(), str(c, "xpub"));
            EXPECT_TRUE(check_extended_key_text(str(c, "xprv")).ok());
            EXPECT_TRUE(check_extended_key_text(str(c, "xpub")).ok());
            auto parsed = ExtendedKey::from_xprv(str(c, "xprv"));
            ASSERT_TRUE(parsed.ok());
            EXPECT_EQ(parsed->to_xprv(), str(c, "xprv"));
            ++chains;
        }
    }
    EXPECT_EQ(chains, 17u);
}

TEST(ExtendedKey, Bip32InvalidKeysAreRefused) {
    test::VectorFile f("bip32-vectors.json");
    size_t n = 0;
    for (simdjson::dom::element v : test::arr(f.root(), "invalid_extended_keys")) {
        SCOPED_TRACE(std::string(str(v, "reason")));
        EXPECT_FALSE(check_extended_key_text(str(v, "xkey")).ok());
        EXPECT_FALSE(ExtendedKey::from_xprv(str(v, "xkey")).ok());
        ++n;
    }
    EXPECT_EQ(n, 16u);
}

TEST(ExtendedKey, PathParsing) {
    auto master = ExtendedKey::from_seed(test::unhex("000102030405060708090a0b0c0d0e0f"));
    ASSERT_TRUE(master.ok());
    auto a = master->derive_path("m/0'/1");
    auto b = master->derive_path("m/0h/1");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->to_xprv(), b->to_xprv());
    auto relative = master->derive_path("m/0'");
    ASSERT_TRUE(relative.ok());
    auto c = relative->derive_path("1");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->to_xprv(), a->to_xprv());
    EXPECT_TRUE(master->derive_path("m").ok());
    for (std::string_view bad :
         {"m/", "m//1", "m/x", "m/-1", "m/2147483648", "m/1''", "m/ 1", "m/1/"}) {
        EXPECT_FALSE(master->derive_path(bad).ok()) << bad;
    }
    EXPECT_FALSE(relative->derive_path("m/0").ok());  // absolute path from a child
    EXPECT_FALSE(ExtendedKey::from_seed(test::unhex("00")).ok());
}

}  // namespace
}  // namespace pylon::proto
