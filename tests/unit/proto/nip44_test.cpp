// Nip44: every case of the official nip44.vectors.json: conversation keys (valid and invalid),
// message keys, padded lengths, encrypt/decrypt with fixed nonces (payloads byte-exact), long
// messages by sha256, invalid plaintext lengths and every invalid payload with its reason.
#include "proto/nip44.hpp"

#include <gtest/gtest.h>

#include "proto/digest.hpp"
#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

using test::at;
using test::str;

Nip44ConversationKey conv_key(std::string_view hex) {
    Nip44ConversationKey key;
    EXPECT_TRUE(hex_decode(hex, key.span()));
    return key;
}

simdjson::dom::element v2(const test::VectorFile& f) {
    return at(f.root(), "v2");
}

TEST(Nip44, ConversationKeys) {
    test::VectorFile f("nip44.vectors.json");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(at(v2(f), "valid"), "get_conversation_key")) {
        auto sk = SecretKey::from_hex(str(c, "sec1"));
        ASSERT_TRUE(sk.ok());
        PublicKey pk;
        ASSERT_TRUE(pk.set_hex(str(c, "pub2")));
        Nip44ConversationKey key;
        ASSERT_EQ(nip44_conversation_key(sk.value(), pk, key), Reject::none);
        EXPECT_EQ(hex_encode(key.span()), str(c, "conversation_key"));
        ++n;
    }
    EXPECT_EQ(n, 35u);
}

TEST(Nip44, InvalidConversationKeys) {
    test::VectorFile f("nip44.vectors.json");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(at(v2(f), "invalid"), "get_conversation_key")) {
        SCOPED_TRACE(str(c, "note"));
        auto sk = SecretKey::from_hex(str(c, "sec1"));
        PublicKey pk;
        ASSERT_TRUE(pk.set_hex(str(c, "pub2")));
        if (sk.ok()) {
            Nip44ConversationKey key;
            EXPECT_EQ(nip44_conversation_key(sk.value(), pk, key), Reject::bad_key);
        }
        ++n;
    }
    EXPECT_EQ(n, 8u);
}

TEST(Nip44, MessageKeys) {
    test::VectorFile f("nip44.vectors.json");
    simdjson::dom::element mk = at(at(v2(f), "valid"), "get_message_keys");
    Nip44ConversationKey key = conv_key(str(mk, "conversation_key"));
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(mk, "keys")) {
        auto nonce = test::unhex_array<32>(str(c, "nonce"));
        Nip44MessageKeys keys;
        nip44_message_keys(key, nonce, keys);
        EXPECT_EQ(hex_encode(keys.chacha_key.span()), str(c, "chacha_key"));
        EXPECT_EQ(hex_encode(keys.chacha_nonce), str(c, "chacha_nonce"));
        EXPECT_EQ(hex_encode(keys.hmac_key.span()), str(c, "hmac_key"));
        ++n;
    }
    EXPECT_EQ(n, 32u);
}

TEST(Nip44, PaddedLengths) {
    test::VectorFile f("nip44.vectors.json");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(at(v2(f), "valid"), "calc_padded_len")) {
        simdjson::dom::array pair;
        ASSERT_EQ(c.get_array().get(pair), simdjson::SUCCESS);
        int64_t len = 0;
        int64_t padded = 0;
        ASSERT_EQ(pair.at(0).get_int64().get(len), simdjson::SUCCESS);
        ASSERT_EQ(pair.at(1).get_int64().get(padded), simdjson::SUCCESS);
        EXPECT_EQ(nip44_padded_bytes(static_cast<size_t>(len)), static_cast<size_t>(padded)) << len;
        ++n;
    }
    EXPECT_EQ(n, 24u);
}

TEST(Nip44, EncryptDecrypt) {
    test::VectorFile f("nip44.vectors.json");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(at(v2(f), "valid"), "encrypt_decrypt")) {
        auto sk1 = SecretKey::from_hex(str(c, "sec1"));
        auto sk2 = SecretKey::from_hex(str(c, "sec2"));
        ASSERT_TRUE(sk1.ok() && sk2.ok());
        auto kp2 = Keypair::from_secret(sk2.value());
        ASSERT_TRUE(kp2.ok());
        Nip44ConversationKey key;
        ASSERT_EQ(nip44_conversation_key(sk1.value(), kp2->public_key(), key), Reject::none);
        EXPECT_EQ(hex_encode(key.span()), str(c, "conversation_key"));
        auto nonce = test::unhex_array<32>(str(c, "nonce"));
        std::string payload;
        ASSERT_EQ(nip44_encrypt(key, str(c, "plaintext"), nonce, payload), Reject::none);
        EXPECT_EQ(payload, str(c, "payload"));
        EXPECT_EQ(payload.size(), nip44_payload_chars(str(c, "plaintext").size()));
        std::string plain;
        ASSERT_EQ(nip44_decrypt(key, str(c, "payload"), plain), Reject::none);
        EXPECT_EQ(plain, str(c, "plaintext"));
        ++n;
    }
    EXPECT_EQ(n, 10u);
}

TEST(Nip44, LongMessages) {
    test::VectorFile f("nip44.vectors.json");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(at(v2(f), "valid"), "encrypt_decrypt_long_msg")) {
        Nip44ConversationKey key = conv_key(str(c, "conversation_key"));
        auto nonce = test::unhex_array<32>(str(c, "nonce"));
        std::string plaintext;
        for (int64_t i = 0; i < test::num(c, "repeat"); ++i) {
            plaintext.append(str(c, "pattern"));
        }
        EXPECT_EQ(hex_encode(sha256(plaintext)), str(c, "plaintext_sha256"));
        std::string payload;
        ASSERT_EQ(nip44_encrypt(key, plaintext, nonce, payload), Reject::none);
        EXPECT_EQ(hex_encode(sha256(payload)), str(c, "payload_sha256"));
        std::string back;
        ASSERT_EQ(nip44_decrypt(key, payload, back), Reject::none);
        EXPECT_EQ(back, plaintext);
        ++n;
    }
    EXPECT_EQ(n, 3u);
}

TEST(Nip44, InvalidPlaintextLengths) {
    test::VectorFile f("nip44.vectors.json");
    Nip44ConversationKey key = conv_key(std::string(64, '1'));
    std::array<uint8_t, 32> nonce{};
    for (simdjson::dom::element c : test::arr(at(v2(f), "invalid"), "encrypt_msg_lengths")) {
        int64_t len = 0;
        ASSERT_EQ(c.get_int64().get(len), simdjson::SUCCESS);
        std::string plaintext(static_cast<size_t>(len), 'a');
        std::string payload;
        EXPECT_EQ(nip44_encrypt(key, plaintext, nonce, payload), Reject::bad_payload_length) << len;
        EXPECT_TRUE(payload.empty());
    }
}

TEST(Nip44, InvalidPayloads) {
    test::VectorFile f("nip44.vectors.json");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(at(v2(f), "invalid"), "decrypt")) {
        std::string_view note = str(c, "note");
        SCOPED_TRACE(note);
        Nip44ConversationKey key = conv_key(str(c, "conversation_key"));
        std::string plain;
        Reject r = nip44_decrypt(key, str(c, "payload"), plain);
        EXPECT_NE(r, Reject::none);
        EXPECT_TRUE(plain.empty());
        if (note.starts_with("unknown encryption version")) {
            EXPECT_EQ(r, Reject::unknown_version);
        } else if (note == "invalid base64") {
            EXPECT_EQ(r, Reject::bad_base64);
        } else if (note == "invalid MAC") {
            EXPECT_EQ(r, Reject::bad_mac);
        } else if (note == "invalid padding") {
            EXPECT_EQ(r, Reject::bad_padding);
        } else {
            EXPECT_EQ(r, Reject::bad_payload_length);
        }
        ++n;
    }
    EXPECT_EQ(n, 12u);
}

TEST(Nip44, HostilePayloadsNeverCrash) {
    Nip44ConversationKey key = conv_key(std::string(64, '2'));
    std::string payload;
    ASSERT_EQ(nip44_encrypt(key, "hello", csprng(), payload), Reject::none);
    std::string plain;
    ASSERT_EQ(nip44_decrypt(key, payload, plain), Reject::none);
    EXPECT_EQ(plain, "hello");
    // Every single-character corruption is refused.
    const std::string alphabet = "AB+/=a#\xff";
    for (size_t i = 0; i < payload.size(); i += 7) {
        for (char c : alphabet) {
            std::string bad = payload;
            if (bad[i] == c) {
                continue;
            }
            bad[i] = c;
            EXPECT_NE(nip44_decrypt(key, bad, plain), Reject::none) << i;
        }
    }
    EXPECT_EQ(nip44_decrypt(key, std::string(nip44_payload_chars_max + 4, 'A'), plain),
              Reject::bad_payload_length);
}

}  // namespace
}  // namespace pylon::proto
