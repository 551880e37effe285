// PayloadCipher: scheme detection by shape, decryption of both encrypted_job payloads with the
// scheme reported, encryption both ways between two keys, and bounds.
#include "proto/payload_cipher.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"
#include "tests/unit/proto/nip90_fixture.hpp"

namespace pylon::proto {
namespace {

TEST(PayloadCipher, VectorsDecryptWithTheirScheme) {
    testing::Nip90Vectors v;
    Keypair provider = v.key("provider");
    Keypair customer = v.key("customer");
    std::string_view expected = test::str(v.encrypted_job(), "plaintext_tags_json");
    for (const Event* e : {&v.nip44_request, &v.nip04_request}) {
        std::string plain;
        Cipher used = Cipher::none;
        ASSERT_EQ(
            decrypt_payload(provider.secret(), customer.public_key(), e->content(), plain, used),
            Reject::none);
        EXPECT_EQ(plain, expected);
        EXPECT_EQ(used, e == &v.nip44_request ? Cipher::nip44 : Cipher::nip04);
        EXPECT_EQ(detect_cipher(e->content()), used);
    }
}

TEST(PayloadCipher, BothWaysAndSizes) {
    auto a = Keypair::from_secret(SecretKey::generate(csprng()));
    auto b = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(a.ok() && b.ok());
    for (Cipher c : {Cipher::nip44, Cipher::nip04}) {
        std::string payload;
        ASSERT_EQ(encrypt_payload(c, a->secret(), b->public_key(), "hello \xf0\x9f\xa4\x96",
                                  csprng(), payload),
                  Reject::none);
        EXPECT_EQ(payload.size(), cipher_payload_chars(c, 10));
        std::string plain;
        Cipher used = Cipher::none;
        ASSERT_EQ(decrypt_payload(b->secret(), a->public_key(), payload, plain, used),
                  Reject::none);
        EXPECT_EQ(plain, "hello \xf0\x9f\xa4\x96");
        EXPECT_EQ(used, c);
        EXPECT_EQ(cipher_name(c), c == Cipher::nip44 ? "nip44" : "nip04");
    }
    std::string payload;
    EXPECT_EQ(encrypt_payload(Cipher::nip44, a->secret(), b->public_key(), "", csprng(), payload),
              Reject::bad_payload_length);
    std::string plain;
    Cipher used = Cipher::none;
    Limits small;
    small.encrypted_payload_bytes_max = 100;
    EXPECT_EQ(
        decrypt_payload(b->secret(), a->public_key(), std::string(200, 'A'), plain, used, small),
        Reject::too_large);
    EXPECT_EQ(decrypt_payload(b->secret(), a->public_key(), "#abc", plain, used),
              Reject::unknown_version);
}

}  // namespace
}  // namespace pylon::proto
