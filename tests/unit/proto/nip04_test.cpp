// Nip04: the nostr-tools/go-nostr payloads decrypt ("nanana", 800 x "z") with the ECDH key of
// either side, the shared x matches the vector, encrypt/decrypt round-trips, and hostile payloads
// are refused with reasons.
#include "proto/nip04.hpp"

#include <gtest/gtest.h>

#include "proto/base64.hpp"
#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

using test::str;

TEST(Nip04, Vectors) {
    test::VectorFile f("nip04-vectors.json");
    size_t n = 0;
    for (simdjson::dom::element v : test::arr(f.root(), "vectors")) {
        auto sender = SecretKey::from_hex(str(v, "sender_secret_hex"));
        auto recipient = SecretKey::from_hex(str(v, "recipient_secret_hex"));
        ASSERT_TRUE(sender.ok() && recipient.ok());
        auto sender_kp = Keypair::from_secret(sender.value());
        auto recipient_kp = Keypair::from_secret(recipient.value());
        ASSERT_TRUE(sender_kp.ok() && recipient_kp.ok());
        std::string expected;
        if (test::has(v, "plaintext")) {
            expected = std::string(str(v, "plaintext"));
            EXPECT_EQ(sender_kp->public_key().hex(), str(v, "sender_pubkey_hex"));
            EXPECT_EQ(recipient_kp->public_key().hex(), str(v, "recipient_pubkey_hex"));
        } else {
            for (int64_t i = 0; i < test::num(v, "plaintext_repeat"); ++i) {
                expected.append(str(v, "plaintext_pattern"));
            }
        }
        Nip04Key by_recipient;
        Nip04Key by_sender;
        ASSERT_EQ(nip04_shared_key(recipient.value(), sender_kp->public_key(), by_recipient),
                  Reject::none);
        ASSERT_EQ(nip04_shared_key(sender.value(), recipient_kp->public_key(), by_sender),
                  Reject::none);
        EXPECT_EQ(hex_encode(by_recipient.span()), hex_encode(by_sender.span()));
        if (test::has(v, "shared_x_hex")) {
            EXPECT_EQ(hex_encode(by_sender.span()), str(v, "shared_x_hex"));
        }
        std::string plain;
        ASSERT_EQ(nip04_decrypt(by_recipient, str(v, "payload"), plain, 1 << 20), Reject::none);
        EXPECT_EQ(plain, expected);
        ++n;
    }
    EXPECT_EQ(n, 2u);
}

TEST(Nip04, RoundTripAndLength) {
    Nip04Key key;
    csprng().fill(key.span());
    for (size_t len : {0u, 1u, 15u, 16u, 17u, 1000u}) {
        std::string text(len, 'q');
        std::string payload;
        nip04_encrypt(key, text, csprng(), payload);
        EXPECT_EQ(payload.size(), nip04_payload_chars(len));
        std::string back;
        ASSERT_EQ(nip04_decrypt(key, payload, back, 1 << 20), Reject::none);
        EXPECT_EQ(back, text);
    }
    std::array<uint8_t, 16> iv{};
    std::string fixed;
    nip04_encrypt(key, "x", iv, fixed);
    EXPECT_NE(fixed.find("?iv=AAAAAAAAAAAAAAAAAAAAAA=="), std::string::npos);
}

TEST(Nip04, HostilePayloads) {
    Nip04Key key;
    csprng().fill(key.span());
    std::string plain;
    EXPECT_EQ(nip04_decrypt(key, "abcd", plain, 100), Reject::bad_payload_length);
    EXPECT_EQ(nip04_decrypt(key, "ab!d?iv=AAAAAAAAAAAAAAAAAAAAAA==", plain, 100),
              Reject::bad_base64);
    EXPECT_EQ(nip04_decrypt(key, "AAAA?iv=AAAAAAAAAAAAAAAAAAAAAA==", plain, 100),
              Reject::bad_payload_length);  // 3 bytes of ciphertext
    EXPECT_EQ(nip04_decrypt(key, "zJxfaJ32rN5Dg1ODjOlEew==?iv=AAAA", plain, 100),
              Reject::bad_payload_length);  // short IV
    // A 16-byte plaintext encrypts to two blocks, the second all padding. Its first block alone
    // decrypts (with the right key) to bytes ending in 'x' (0x78), never valid PKCS#7 padding.
    std::array<uint8_t, 16> iv{};
    std::string two_blocks;
    nip04_encrypt(key, "xxxxxxxxxxxxxxxx", iv, two_blocks);
    std::vector<uint8_t> cipher;
    ASSERT_TRUE(base64_decode(two_blocks.substr(0, two_blocks.find('?')), cipher));
    ASSERT_EQ(cipher.size(), 32u);
    std::string first_block;
    base64_append(first_block, std::span(cipher).first(16));
    EXPECT_EQ(nip04_decrypt(key, first_block + "?iv=AAAAAAAAAAAAAAAAAAAAAA==", plain, 100),
              Reject::bad_padding);
    EXPECT_EQ(nip04_decrypt(key, std::string(200, 'A'), plain, 100), Reject::bad_payload_length);
}

}  // namespace
}  // namespace pylon::proto
