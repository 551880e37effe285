// Nip06: every vector of nip06-vectors.json (both NIP-06 mnemonics, nostr-tools' passphrase and
// account vectors) gives the published secret and x-only public key, and the account-level xprv
// vector derives the same child.
#include "proto/nip06.hpp"

#include <gtest/gtest.h>

#include "proto/extended_key.hpp"
#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

using test::str;

TEST(Nip06, Vectors) {
    test::VectorFile f("nip06-vectors.json");
    size_t n = 0;
    for (simdjson::dom::element v : test::arr(f.root(), "vectors")) {
        auto m = Mnemonic::parse(str(v, "mnemonic"));
        ASSERT_TRUE(m.ok());
        auto account = static_cast<uint32_t>(test::num(v, "account"));
        EXPECT_EQ(nip06_path(account), str(v, "path"));
        auto kp = nip06_keypair(m.value(), str(v, "passphrase"), account);
        ASSERT_TRUE(kp.ok()) << kp.error().message();
        EXPECT_EQ(kp->secret().hex(), str(v, "private_key_hex"));
        EXPECT_EQ(kp->public_key().hex(), str(v, "public_key_hex"));
        ++n;
    }
    EXPECT_EQ(n, 6u);
}

TEST(Nip06, ExtendedKeyVector) {
    test::VectorFile f("nip06-vectors.json");
    simdjson::dom::element v = test::at(f.root(), "extended_key_vector");
    auto m = Mnemonic::parse(str(v, "mnemonic"));
    ASSERT_TRUE(m.ok());
    auto seed = m->seed(str(v, "passphrase"));
    ASSERT_TRUE(seed.ok());
    auto master = ExtendedKey::from_seed(seed->span());
    ASSERT_TRUE(master.ok());
    auto account = master->derive_path(str(v, "path"));
    ASSERT_TRUE(account.ok());
    EXPECT_EQ(account->to_xprv(), str(v, "xprv"));
    EXPECT_EQ(account->to_xpub(), str(v, "xpub"));
    auto from_text = ExtendedKey::from_xprv(str(v, "xprv"));
    ASSERT_TRUE(from_text.ok());
    auto child = from_text->derive_path(str(v, "child_path_from_xprv"));
    ASSERT_TRUE(child.ok());
    EXPECT_EQ(hex_encode(child->secret()), str(v, "child_private_key_hex"));
    auto kp = Keypair::from_secret(child->secret_key().value());
    ASSERT_TRUE(kp.ok());
    EXPECT_EQ(kp->public_key().hex(), str(v, "child_public_key_hex"));
}

TEST(Nip06, AccountBound) {
    auto m = Mnemonic::parse("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong");
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(nip06_secret_key(m.value(), "", nip06_account_max).ok());
    EXPECT_FALSE(nip06_secret_key(m.value(), "", nip06_account_max + 1).ok());
}

}  // namespace
}  // namespace pylon::proto
