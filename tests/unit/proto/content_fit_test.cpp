// ContentFit: plain text is cut to the exact byte bound at a code point, encrypted text is cut so
// the payload fits, and an event whose tags alone are too large is refused.
#include "proto/content_fit.hpp"

#include <gtest/gtest.h>

#include "proto/utf8.hpp"
#include "tests/support/proto_print.hpp"

namespace pylon::proto {
namespace {

TEST(ContentFit, PlainTextIsCutAtTheBound) {
    Event e;
    e.set_kind(1);
    e.add_tag({"t", "x"});
    ContentFit fit;
    fit.event_bytes_max = 1000;
    bool truncated = false;
    ASSERT_EQ(fit_content(e, "short", fit, truncated), Reject::none);
    EXPECT_FALSE(truncated);
    EXPECT_EQ(e.content(), "short");
    std::string long_text;
    for (int i = 0; i < 400; ++i) {
        long_text += "\xc3\xa9\n";  // 2-byte letter + an escaped newline
    }
    ASSERT_EQ(fit_content(e, long_text, fit, truncated), Reject::none);
    EXPECT_TRUE(truncated);
    EXPECT_LE(e.json_bytes(), 1000u);
    EXPECT_GE(e.json_bytes(), 996u);  // within one escaped character of the bound
    EXPECT_TRUE(utf8_valid(e.content()));
}

TEST(ContentFit, EncryptedPayloadFits) {
    auto a = Keypair::from_secret(SecretKey::generate(csprng()));
    auto b = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(a.ok() && b.ok());
    for (Cipher c : {Cipher::nip44, Cipher::nip04}) {
        Event e;
        e.set_kind(6050);
        ContentFit fit;
        fit.cipher = c;
        fit.keys = &a.value();
        fit.peer = &b->public_key();
        fit.random = &csprng();
        fit.event_bytes_max = 4000;
        bool truncated = false;
        ASSERT_EQ(fit_content(e, std::string(10000, 'z'), fit, truncated), Reject::none);
        EXPECT_TRUE(truncated);
        EXPECT_LE(e.json_bytes(), 4000u);
        std::string plain;
        Cipher used = Cipher::none;
        ASSERT_EQ(decrypt_payload(b->secret(), a->public_key(), e.content(), plain, used),
                  Reject::none);
        EXPECT_EQ(used, c);
        EXPECT_GT(plain.size(), 2000u);
        EXPECT_EQ(plain, std::string(plain.size(), 'z'));
        ASSERT_EQ(fit_content(e, "", fit, truncated), Reject::none);
        EXPECT_EQ(e.content(), "");  // nothing to hide: NIP-44 cannot encrypt an empty text
    }
}

TEST(ContentFit, TagsAloneTooLarge) {
    Event e;
    e.set_kind(1);
    e.add_tag({"big", std::string(2000, 'b')});
    ContentFit fit;
    fit.event_bytes_max = 1000;
    bool truncated = false;
    EXPECT_EQ(fit_content(e, "x", fit, truncated), Reject::event_too_large);
}

}  // namespace
}  // namespace pylon::proto
