// Nip19: the NIP-19 examples and the nsec/npub of every NIP-06 vector encode and decode exactly;
// TLV forms round-trip and tolerate unknown records; hostile strings are rejected with reasons.
#include "proto/nip19.hpp"

#include <gtest/gtest.h>

#include "proto/bech32.hpp"
#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

TEST(Nip19, SpecExamples) {
    test::VectorFile file("nip06-vectors.json");
    size_t n = 0;
    for (simdjson::dom::element item :
         test::arr(test::at(file.root(), "nip19_examples"), "items")) {
        Nip19 out;
        std::string_view text = test::str(item, "bech32");
        ASSERT_EQ(nip19_decode(text, out), Reject::none) << text;
        EXPECT_EQ(hex_encode(out.bytes.span()), test::str(item, "hex"));
        if (out.kind == Nip19Kind::npub) {
            PublicKey pk(out.bytes.span());
            EXPECT_EQ(npub_encode(pk), text);
        } else {
            ASSERT_EQ(out.kind, Nip19Kind::nsec);
            auto sk = SecretKey::from_bytes(out.bytes.span());
            ASSERT_TRUE(sk.ok());
            EXPECT_EQ(nsec_encode(sk.value()), text);
        }
        ++n;
    }
    EXPECT_EQ(n, 3u);
}

TEST(Nip19, Nip06VectorKeys) {
    test::VectorFile file("nip06-vectors.json");
    for (simdjson::dom::element v : test::arr(file.root(), "vectors")) {
        auto sk = SecretKey::from_hex(test::str(v, "private_key_hex"));
        ASSERT_TRUE(sk.ok());
        PublicKey pk;
        ASSERT_TRUE(pk.set_hex(test::str(v, "public_key_hex")));
        EXPECT_EQ(nsec_encode(sk.value()), test::str(v, "nsec"));
        EXPECT_EQ(npub_encode(pk), test::str(v, "npub"));
        PublicKey parsed;
        EXPECT_EQ(parse_pubkey_text(test::str(v, "npub"), parsed), Reject::none);
        EXPECT_EQ(parsed, pk);
        EXPECT_EQ(parse_pubkey_text(test::str(v, "public_key_hex"), parsed), Reject::none);
        EXPECT_EQ(parsed, pk);
        auto back = parse_secret_text(test::str(v, "nsec"));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(back->hex(), test::str(v, "private_key_hex"));
    }
}

TEST(Nip19, NoteNprofileNeventRoundTrip) {
    EventId id{};
    for (size_t i = 0; i < id.size(); ++i) {
        id[i] = static_cast<uint8_t>(i * 7);
    }
    Nip19 out;
    ASSERT_EQ(nip19_decode(note_encode(id), out), Reject::none);
    EXPECT_EQ(out.kind, Nip19Kind::note);
    EXPECT_EQ(hex_encode(out.bytes.span()), hex_encode(id));

    PublicKey pk;
    ASSERT_TRUE(pk.set_hex("3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"));
    std::vector<std::string> relays = {"wss://r.x.com", "wss://djbas.sadkb.com"};
    // NIP-19's own nprofile example.
    EXPECT_EQ(
        nprofile_encode(pk, relays),
        "nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7m"
        "gpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p");
    ASSERT_EQ(nip19_decode(nprofile_encode(pk, relays), out), Reject::none);
    EXPECT_EQ(out.kind, Nip19Kind::nprofile);
    EXPECT_EQ(out.relays, relays);

    std::string nevent = nevent_encode(id, relays, pk, 5050);
    ASSERT_EQ(nip19_decode(nevent, out), Reject::none);
    EXPECT_EQ(out.kind, Nip19Kind::nevent);
    EXPECT_EQ(hex_encode(out.bytes.span()), hex_encode(id));
    ASSERT_TRUE(out.author.has_value());
    EXPECT_EQ(*out.author, pk);
    EXPECT_EQ(out.event_kind, 5050u);
}

TEST(Nip19, UnknownTlvIsIgnoredTruncatedIsNot) {
    std::vector<uint8_t> data = {9, 3, 'a', 'b', 'c', 0, 32};
    for (uint8_t i = 0; i < 32; ++i) {
        data.push_back(i);
    }
    data.insert(data.end(), {1, 2, 'w', 's'});
    Nip19 out;
    ASSERT_EQ(nip19_decode(bech32_encode("nprofile", data), out), Reject::none);
    EXPECT_EQ(out.relays.size(), 1u);
    data.push_back(1);  // a type without a length
    EXPECT_EQ(nip19_decode(bech32_encode("nprofile", data), out), Reject::bad_tlv);
    std::vector<uint8_t> short_key = {0, 31};
    short_key.resize(33);
    EXPECT_EQ(nip19_decode(bech32_encode("nevent", short_key), out), Reject::bad_tlv);
    std::vector<uint8_t> no_key = {1, 2, 'w', 's'};
    EXPECT_EQ(nip19_decode(bech32_encode("nprofile", no_key), out), Reject::bad_tlv);
    std::vector<uint8_t> naddr = {0, 1, 'd', 3, 4, 0, 0, 0x75, 0x30};
    EXPECT_EQ(nip19_decode(bech32_encode("naddr", naddr), out), Reject::bad_tlv);  // no author
}

TEST(Nip19, HostileStrings) {
    Nip19 out;
    std::string good = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
    EXPECT_EQ(nip19_decode(good, out), Reject::none);
    std::string upper = good;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(nip19_decode(upper, out), Reject::none);  // all-uppercase is valid bech32
    std::string mixed = good;
    mixed[0] = 'N';
    EXPECT_EQ(nip19_decode(mixed, out), Reject::bad_bech32);
    std::string flipped = good;
    flipped[20] = flipped[20] == 'q' ? 'p' : 'q';
    EXPECT_EQ(nip19_decode(flipped, out), Reject::bad_checksum);
    EXPECT_EQ(nip19_decode("npub1", out), Reject::bad_bech32);
    EXPECT_EQ(nip19_decode("", out), Reject::bad_bech32);
    EXPECT_EQ(nip19_decode("npub1bbbbbb", out), Reject::bad_bech32);  // b is not in the charset
    EXPECT_EQ(nip19_decode("npub1qqqqqq", out), Reject::bad_checksum);
    EXPECT_EQ(nip19_decode("npub1\xff" + good.substr(6), out), Reject::bad_bech32);
    EXPECT_EQ(nip19_decode(std::string(5001, 'q'), out), Reject::too_large);
    std::vector<uint8_t> bytes(32, 1);
    EXPECT_EQ(nip19_decode(bech32_encode("nfoo", bytes), out), Reject::wrong_prefix);
    std::vector<uint8_t> short_bytes(31, 1);
    EXPECT_EQ(nip19_decode(bech32_encode("npub", short_bytes), out), Reject::bad_bech32);
    PublicKey pk;
    EXPECT_EQ(
        parse_pubkey_text("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5", pk),
        Reject::wrong_prefix);
    EXPECT_FALSE(parse_secret_text(good).ok());
    // Hex or bech32 of 32 bytes that are no point's x: no one's key.
    PublicKey untouched;
    ASSERT_TRUE(untouched.set_hex(std::string(64, '1')));
    pk = untouched;
    EXPECT_EQ(parse_pubkey_text(std::string(64, '0'), pk), Reject::bad_pubkey);
    EXPECT_EQ(parse_pubkey_text(std::string(64, 'f'), pk), Reject::bad_pubkey);
    std::vector<uint8_t> zeros(32, 0);
    EXPECT_EQ(parse_pubkey_text(bech32_encode("npub", zeros), pk), Reject::bad_pubkey);
    EXPECT_EQ(pk, untouched) << "a refused key leaves the output alone";
}

}  // namespace
}  // namespace pylon::proto
