// Mnemonic: all 24 English trezor vectors (entropy -> phrase -> seed with passphrase "TREZOR" ->
// master xprv), the NIP-06 intermediate entropy/seed fields, generation, and errors that name the
// position of a bad word, a wrong word count or a checksum mismatch.
#include "proto/mnemonic.hpp"

#include <gtest/gtest.h>

#include "proto/bip39_wordlist.hpp"
#include "proto/digest.hpp"
#include "proto/extended_key.hpp"
#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

TEST(Mnemonic, WordlistIsTheShippedFile) {
    const auto& words = bip39_english_words();
    EXPECT_EQ(words.front(), "abandon");
    EXPECT_EQ(words.back(), "zoo");
    std::string joined;
    for (std::string_view w : words) {
        joined.append(w);
        joined.push_back('\n');
    }
    EXPECT_EQ(hex_encode(sha256(joined)),
              "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda");
    EXPECT_EQ(bip39_word_index("abandon"), 0);
    EXPECT_EQ(bip39_word_index("zoo"), 2047);
    EXPECT_FALSE(bip39_word_index("zooo").has_value());
}

TEST(Mnemonic, TrezorEnglishVectors) {
    test::VectorFile f("bip39-vectors-trezor.json");
    size_t n = 0;
    for (simdjson::dom::element v : test::arr(f.root(), "english")) {
        simdjson::dom::array row;
        ASSERT_EQ(v.get_array().get(row), simdjson::SUCCESS);
        std::string_view entropy_hex = test::str(row.at(0).value());
        std::string_view phrase = test::str(row.at(1).value());
        std::string_view seed_hex = test::str(row.at(2).value());
        std::string_view xprv = test::str(row.at(3).value());
        auto entropy = test::unhex(entropy_hex);
        Mnemonic m = Mnemonic::from_entropy(entropy);
        EXPECT_EQ(m.phrase(), phrase);
        EXPECT_TRUE(Mnemonic::check(phrase).ok());
        EXPECT_EQ(hex_encode(m.entropy()), entropy_hex);
        auto seed = m.seed("TREZOR");
        ASSERT_TRUE(seed.ok());
        EXPECT_EQ(hex_encode(seed->span()), seed_hex);
        auto master = ExtendedKey::from_seed(seed->span());
        ASSERT_TRUE(master.ok());
        EXPECT_EQ(master->to_xprv(), xprv);
        ++n;
    }
    EXPECT_EQ(n, 24u);
}

TEST(Mnemonic, Nip06IntermediateValues) {
    test::VectorFile f("nip06-vectors.json");
    for (simdjson::dom::element v : test::arr(f.root(), "vectors")) {
        auto m = Mnemonic::parse(test::str(v, "mnemonic"));
        ASSERT_TRUE(m.ok());
        EXPECT_EQ(hex_encode(m->entropy()), test::str(v, "bip39_entropy_hex"));
        auto seed = m->seed(test::str(v, "passphrase"));
        ASSERT_TRUE(seed.ok());
        EXPECT_EQ(hex_encode(seed->span()), test::str(v, "bip39_seed_hex"));
    }
}

TEST(Mnemonic, GenerateGivesValidPhrases) {
    for (size_t words : {12u, 15u, 18u, 21u, 24u}) {
        Mnemonic m = Mnemonic::generate(words, csprng());
        EXPECT_EQ(m.word_count(), words);
        EXPECT_TRUE(Mnemonic::check(m.phrase()).ok()) << m.phrase();
    }
    EXPECT_NE(Mnemonic::generate(12, csprng()).phrase(), Mnemonic::generate(12, csprng()).phrase());
    FixedRandom zeros;
    EXPECT_EQ(Mnemonic::generate(12, zeros).phrase(),
              "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
              "abandon about");
}

TEST(Mnemonic, ParseNormalisesWhitespaceAndCase) {
    auto m = Mnemonic::parse(
        "  Leader MONKEY parrot\tring guide accident before fence cannon height naive bean\n");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->phrase(),
              "leader monkey parrot ring guide accident before fence cannon height naive bean");
}

TEST(Mnemonic, ErrorsNameTheWordPosition) {
    MnemonicCheck c = Mnemonic::check(
        "leader monkey parrot ring guide accidnt before fence cannon height naive bean");
    EXPECT_EQ(c.error, MnemonicError::unknown_word);
    EXPECT_EQ(c.word_position, 6u);
    EXPECT_EQ(c.word, "accidnt");
    EXPECT_EQ(c.suggestion, "accident");
    EXPECT_NE(c.message().find("word 6 (\"accidnt\")"), std::string::npos) << c.message();
    EXPECT_NE(c.message().find("did you mean \"accident\""), std::string::npos);

    c = Mnemonic::check("leader monkey parrot");
    EXPECT_EQ(c.error, MnemonicError::word_count);
    EXPECT_EQ(c.word_count, 3u);
    EXPECT_NE(c.message().find("got 3"), std::string::npos);

    c = Mnemonic::check(
        "monkey leader parrot ring guide accident before fence cannon height naive bean");
    EXPECT_EQ(c.error, MnemonicError::checksum);
    EXPECT_EQ(c.word_position, 12u);

    c = Mnemonic::check(
        "caf\xc3\xa9 abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon about");
    EXPECT_EQ(c.error, MnemonicError::unknown_word);
    EXPECT_EQ(c.word_position, 1u);

    EXPECT_EQ(Mnemonic::check("").error, MnemonicError::word_count);
    EXPECT_EQ(Mnemonic::check(std::string(5000, 'a')).error, MnemonicError::word_count);
    std::string many;
    for (int i = 0; i < 100; ++i) {
        many += "abandon ";
    }
    EXPECT_EQ(Mnemonic::check(many).error, MnemonicError::word_count);

    auto parsed = Mnemonic::parse("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find("checksum"), std::string::npos);
}

TEST(Mnemonic, PassphraseMustBeAscii) {
    auto m = Mnemonic::parse("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong");
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(m->seed("123").ok());
    EXPECT_FALSE(m->seed("caf\xc3\xa9").ok());
    EXPECT_FALSE(m->seed("tab\there").ok());
}

}  // namespace
}  // namespace pylon::proto
