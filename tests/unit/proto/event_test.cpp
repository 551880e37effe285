// Event: every event in nostr-events.json (ids, signatures, the exact id preimages), signing with
// zero aux reproduces the published signatures, building sanitises, and hostile JSON is rejected
// with the right reason.
#include "proto/event.hpp"

#include <vector>

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

using test::at;
using test::str;

struct Fixture {
    test::VectorFile file{"nostr-events.json"};
    JsonReader reader;

    Keypair key(std::string_view who) {
        auto sk = SecretKey::from_hex(str(at(at(file.root(), "keys"), who), "secret_hex"));
        EXPECT_TRUE(sk.ok());
        auto kp = Keypair::from_secret(sk.value());
        EXPECT_TRUE(kp.ok());
        return kp.value();
    }

    // Parses, checks the id and signature, re-signs with zero aux and compares signatures.
    void check_event(simdjson::dom::element ev, const Keypair* signer) {
        Event e;
        std::string text = test::json_text(ev);
        ASSERT_EQ(e.read_json(reader, text), Reject::none) << text;
        EXPECT_EQ(hex_encode(e.id()), str(ev, "id"));
        EXPECT_EQ(e.verify(), Reject::none) << text;
        std::string scratch;
        EXPECT_EQ(hex_encode(e.compute_id(scratch)), str(ev, "id"));
        if (signer != nullptr) {
            Event copy = e;
            FixedRandom zeros;
            copy.sign(*signer, zeros);
            EXPECT_EQ(hex_encode(copy.sig()), str(ev, "sig")) << text;
        }
    }
};

TEST(Event, SerializationCasesAreByteExact) {
    Fixture f;
    Keypair customer = f.key("customer");
    simdjson::dom::array cases = test::arr(f.file.root(), "serialization_cases");
    size_t n = 0;
    for (simdjson::dom::element c : cases) {
        Event e;
        simdjson::dom::element ev = at(c, "event");
        ASSERT_EQ(e.read_json(f.reader, test::json_text(ev)), Reject::none);
        std::string preimage;
        e.serialize_canonical(preimage);
        EXPECT_EQ(preimage, str(c, "serialized_utf8")) << str(c, "name");
        f.check_event(ev, &customer);
        ++n;
    }
    EXPECT_EQ(n, 7u);
}

// The serialisations copied from the id preimage (a result's frame, a request's request_json)
// are byte for byte those written from the fields, and the size bound never undercounts.
TEST(Event, JsonFromCanonicalMatchesJsonFromFields) {
    Fixture f;
    Keypair provider = f.key("provider");
    std::vector<Event> events;
    for (simdjson::dom::element c : test::arr(f.file.root(), "serialization_cases")) {
        Event e;
        ASSERT_EQ(e.read_json(f.reader, test::json_text(at(c, "event"))), Reject::none);
        events.push_back(e);
    }
    Event built;  // escapes in tags and content, an empty tag list on the second
    built.set_kind(6050);
    built.set_created_at(1700000000);
    built.set_content("line\nquote \" back \\ ctl \x01\x1f del \x7f \xe2\x80\xa8 end");
    built.add_tag({"request", events.front().to_json()});
    built.add_tag({"e", std::string(64, 'b'), "wss://relay.example.com"});
    built.sign(provider);
    events.push_back(built);
    built.truncate_tags(0);
    built.set_content("");
    built.sign(provider);
    events.push_back(built);
    for (const Event& e : events) {
        std::string canonical;
        e.serialize_canonical(canonical);
        std::string copied = "prefix";
        e.append_json(copied, canonical);
        EXPECT_EQ(copied, "prefix" + e.to_json());
        EXPECT_GE(e.json_bytes_bound(), e.json_bytes());
        Event::CanonicalParts parts = e.canonical_parts(canonical);
        EXPECT_EQ(parts.tags.front(), '[');
        EXPECT_EQ(parts.content.front(), '"');
    }
}

TEST(Event, DvmFlowEventsVerifyAndResign) {
    Fixture f;
    Keypair provider = f.key("provider");
    Keypair customer = f.key("customer");
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(f.file.root(), "dvm_flow")) {
        simdjson::dom::element ev = at(c, "event");
        bool by_provider = str(ev, "pubkey") == provider.public_key().hex();
        f.check_event(ev, by_provider ? &provider : &customer);
        ++n;
    }
    EXPECT_EQ(n, 8u);
}

TEST(Event, EncryptedJobAndNipsRepoEventsVerify) {
    Fixture f;
    Keypair customer = f.key("customer");
    simdjson::dom::element enc = at(f.file.root(), "encrypted_job");
    f.check_event(at(at(enc, "nip44"), "event"), &customer);
    f.check_event(at(at(enc, "nip04"), "event"), &customer);
    size_t n = 0;
    for (simdjson::dom::element c : test::arr(f.file.root(), "from_nips_repo")) {
        f.check_event(at(c, "event"), nullptr);
        ++n;
    }
    EXPECT_EQ(n, 6u);
}

TEST(Event, DelCharacterIsSerialisedVerbatimButNeverSigned) {
    Fixture f;
    simdjson::dom::element note = at(f.file.root(), "del_0x7f_note");
    // The vector's event: customer key, 1700000000, kind 1, no tags, content "del\x7f".
    std::string json =
        R"({"id":"4455d083348d6ef783fb445e26300b8674ecbbb8294910558bc4ea97d891d4df",)"
        R"("pubkey":"d41b22899549e1f3d335a31002cfd382174006e166d3e658e3a5eecdb6463573",)"
        R"("created_at":1700000000,"kind":1,"tags":[],"content":"del)"
        "\x7f"
        R"(","sig":"00000000000000000000000000000000000000000000000000000000000000000000)"
        R"(000000000000000000000000000000000000000000000000000000000000"})";
    Event e;
    ASSERT_EQ(e.read_json(f.reader, json), Reject::none);
    std::string scratch;
    EXPECT_EQ(hex_encode(e.compute_id(scratch)), str(note, "verbatim_form_id"));
    EXPECT_NE(hex_encode(e.compute_id(scratch)), str(note, "escaped_form_id"));
    EXPECT_EQ(e.verify(), Reject::bad_signature);  // id matches, the zero signature does not

    Event built;
    built.set_content("del\x7f");
    EXPECT_EQ(built.content(), "del");
}

TEST(Event, BuilderSignsAndVerifies) {
    Fixture f;
    Keypair provider = f.key("provider");
    Event e;
    e.set_kind(1);
    e.set_created_at(1700000000);
    e.set_content("quote \" backslash \\ nul \x01 emoji \xf0\x9f\xa4\x96 bad \xff end");
    e.add_tag({"t", "test"});
    e.add_tag({"e", std::string(64, 'a'), "wss://relay.example.com", "root"});
    e.sign(provider);
    EXPECT_EQ(e.verify(), Reject::none);
    EXPECT_EQ(e.content(),
              "quote \" backslash \\ nul \x01 emoji \xf0\x9f\xa4\x96 bad \xef\xbf\xbd end");
    EXPECT_EQ(e.pubkey(), provider.public_key());
    ASSERT_EQ(e.tag_count(), 2u);
    EXPECT_EQ(e.tag(1).size(), 4u);
    EXPECT_EQ(e.tag(1)[3], "root");
    EXPECT_EQ(e.tag_value("t"), "test");
    EXPECT_EQ(e.tag_value("missing"), "");

    std::string json = e.to_json();
    EXPECT_EQ(json.size(), e.json_bytes());
    Event back;
    ASSERT_EQ(back.read_json(f.reader, json), Reject::none);
    EXPECT_EQ(back.to_json(), json);
    EXPECT_EQ(back.verify(), Reject::none);

    // Tampering is detected at the right step.
    Event tampered = back;
    tampered.set_content("changed");
    EXPECT_EQ(tampered.verify(), Reject::bad_event_id);
    Event bad_sig = back;
    SignatureBytes sig = bad_sig.sig();
    sig[10] ^= 1;
    bad_sig.set_sig(sig);
    EXPECT_EQ(bad_sig.verify(), Reject::bad_signature);
    // A key that is no curve point (x >= p), under a matching id: the key is named, not the sig.
    Event off_curve = back;
    std::array<uint8_t, 32> x{};
    x.fill(0xff);
    off_curve.set_pubkey(PublicKey(x));
    std::string scratch;
    off_curve.set_id(off_curve.compute_id(scratch));
    EXPECT_EQ(off_curve.verify(), Reject::bad_pubkey);
}

TEST(Event, ReuseKeepsCapacityAndClearsState) {
    Fixture f;
    Keypair provider = f.key("provider");
    Event a;
    a.set_kind(5050);
    a.set_created_at(1);
    for (int i = 0; i < 50; ++i) {
        a.add_tag({"param", "k", std::to_string(i)});
    }
    a.sign(provider);
    std::string big = a.to_json();
    Event b;
    a.set_kind(1);
    a.truncate_tags(0);
    a.set_content("");
    a.sign(provider);
    std::string small = a.to_json();
    ASSERT_EQ(b.read_json(f.reader, big), Reject::none);
    EXPECT_EQ(b.tag_count(), 50u);
    ASSERT_EQ(b.read_json(f.reader, small), Reject::none);
    EXPECT_EQ(b.tag_count(), 0u);
    EXPECT_EQ(b.kind(), 1u);
    EXPECT_EQ(b.verify(), Reject::none);
}

TEST(Event, AddTagTrimmedDropsOnlyTrailingEmpties) {
    Event e;
    e.add_tag_trimmed({"e", "id", ""});
    e.add_tag_trimmed({"i", "data", "text", "", "marker"});
    e.add_tag_trimmed({"x", "", ""});
    e.add_tag_trimmed({"encrypted"});
    ASSERT_EQ(e.tag_count(), 4u);
    EXPECT_EQ(e.tag(0).size(), 2u);
    EXPECT_EQ(e.tag(1).size(), 5u);
    EXPECT_EQ(e.tag(1)[3], "");
    EXPECT_EQ(e.tag(2).size(), 1u);
    EXPECT_EQ(e.tag(3).size(), 1u);
}

TEST(Event, TruncateTagsDropsTrailingTags) {
    Event e;
    e.add_tag({"a", "1"});
    e.add_tag({"b", "2", "x"});
    e.add_tag({"c", "3"});
    e.truncate_tags(1);
    ASSERT_EQ(e.tag_count(), 1u);
    e.add_tag({"d", "4"});
    EXPECT_EQ(e.tag(1).name(), "d");
    EXPECT_EQ(e.tag(1).value(), "4");
    std::string canon;
    e.serialize_canonical(canon);
    EXPECT_NE(canon.find(R"([["a","1"],["d","4"]])"), std::string::npos) << canon;
}

TEST(Event, ReadTemplateForSigning) {
    Fixture f;
    Keypair provider = f.key("provider");
    Event e;
    ASSERT_EQ(
        e.read_template(f.reader,
                        R"({"kind":1,"content":"hi\u007f there","tags":[["t","a"],["p","x","y"]],)"
                        R"("id":"ignored","sig":5})",
                        1700000123),
        Reject::none);
    EXPECT_EQ(e.kind(), 1u);
    EXPECT_EQ(e.created_at(), 1700000123);
    EXPECT_EQ(e.content(), "hi there");  // DEL removed: never signed
    ASSERT_EQ(e.tag_count(), 2u);
    EXPECT_EQ(e.tag(1)[2], "y");
    e.sign(provider);
    EXPECT_EQ(e.verify(), Reject::none);
    ASSERT_EQ(e.read_template(f.reader, R"({"kind":7,"created_at":5})", 99), Reject::none);
    EXPECT_EQ(e.created_at(), 5);
    EXPECT_EQ(e.content(), "");
    EXPECT_EQ(e.tag_count(), 0u);
    EXPECT_EQ(e.read_template(f.reader, R"({"content":"x"})", 1), Reject::missing_field);
    EXPECT_EQ(e.read_template(f.reader, R"({"kind":-1})", 1), Reject::bad_kind);
    EXPECT_EQ(e.read_template(f.reader, R"({"kind":1,"tags":[[]]})", 1), Reject::empty_tag);
    EXPECT_EQ(e.read_template(f.reader, R"({"kind":1,"tags":[[1]]})", 1), Reject::wrong_type);
    EXPECT_EQ(e.read_template(f.reader, R"({"kind":1,"created_at":"now"})", 1),
              Reject::bad_created_at);
    EXPECT_EQ(e.read_template(f.reader, "[1]", 1), Reject::wrong_type);
    EXPECT_EQ(e.read_template(f.reader, "{", 1), Reject::json_syntax);
}

// --- hostile input ------------------------------------------------------------------------

std::string valid_json() {
    return R"({"id":"4ac186ff491559ad8754dbbadb2cc5303701176a0116c22b7af5c315a5fa62b1",)"
           R"("pubkey":"d41b22899549e1f3d335a31002cfd382174006e166d3e658e3a5eecdb6463573",)"
           R"("created_at":1700000000,"kind":1,"tags":[["t","test"]],"content":"x",)"
           R"("sig":")" +
           std::string(128, '0') + R"("})";
}

std::string replace(std::string s, std::string_view from, std::string_view to) {
    auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
}

Reject parse(std::string_view json, const Limits& limits = Limits{}) {
    JsonReader reader(limits);
    Event e;
    return e.read_json(reader, json);
}

TEST(EventHostile, ShapeAndTypes) {
    EXPECT_EQ(parse(valid_json()), Reject::none);
    EXPECT_EQ(parse("[]"), Reject::wrong_type);
    EXPECT_EQ(parse("{"), Reject::json_syntax);
    EXPECT_EQ(parse(""), Reject::json_syntax);
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1,)", "")), Reject::missing_field);
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1,)", R"("kind":1,"kind":1,)")),
              Reject::duplicate_field);
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1)", R"("kind":"1")")), Reject::bad_kind);
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1)", R"("kind":65536)")), Reject::bad_kind);
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1)", R"("kind":-1)")), Reject::bad_kind);
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1)", R"("kind":1.5)")), Reject::bad_kind);
    EXPECT_EQ(parse(replace(valid_json(), "1700000000", "-5")), Reject::bad_created_at);
    EXPECT_EQ(parse(replace(valid_json(), "1700000000", "1e9")), Reject::bad_created_at);
    EXPECT_EQ(parse(replace(valid_json(), "1700000000", "99999999999999999999")),
              Reject::bad_number);  // above uint64: simdjson refuses the number
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":5)")),
              Reject::wrong_type);
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":null)")),
              Reject::wrong_type);
    // Unknown top-level fields are ignored.
    EXPECT_EQ(parse(replace(valid_json(), R"("kind":1,)", R"("kind":1,"extra":{"a":[1]},)")),
              Reject::none);
}

TEST(EventHostile, BadHex) {
    EXPECT_EQ(parse(replace(valid_json(), "4ac186ff", "4AC186FF")), Reject::bad_hex);
    EXPECT_EQ(parse(replace(valid_json(), "4ac186ff", "4ac186f")), Reject::bad_hex);
    EXPECT_EQ(parse(replace(valid_json(), "4ac186ff", "4ac186ffa")), Reject::bad_hex);
    EXPECT_EQ(parse(replace(valid_json(), "d41b2289", "g41b2289")), Reject::bad_hex);
    EXPECT_EQ(parse(replace(valid_json(), std::string(128, '0'), std::string(126, '0'))),
              Reject::bad_hex);
    EXPECT_EQ(parse(replace(valid_json(), R"("pubkey":")", R"("pubkey":7,"x":")")),
              Reject::wrong_type);
}

TEST(EventHostile, Tags) {
    EXPECT_EQ(parse(replace(valid_json(), R"([["t","test"]])", R"([[]])")), Reject::empty_tag);
    EXPECT_EQ(parse(replace(valid_json(), R"([["t","test"]])", R"([["t",1]])")),
              Reject::wrong_type);
    EXPECT_EQ(parse(replace(valid_json(), R"([["t","test"]])", R"([["t",null]])")),
              Reject::wrong_type);
    EXPECT_EQ(parse(replace(valid_json(), R"([["t","test"]])", R"(["t"])")), Reject::wrong_type);
    EXPECT_EQ(parse(replace(valid_json(), R"([["t","test"]])", R"({})")), Reject::wrong_type);
    std::string long_value(1025, 'a');
    EXPECT_EQ(parse(replace(valid_json(), R"(["t","test"])", "[\"t\",\"" + long_value + "\"]")),
              Reject::tag_value_too_long);
    // Multi-letter names are not held to the single-letter bound.
    EXPECT_EQ(parse(replace(valid_json(), R"(["t","test"])", "[\"tt\",\"" + long_value + "\"]")),
              Reject::none);
    // An `i` tag (a job input: a prompt) is held to tag_element_bytes_max instead.
    std::string prompt(60000, 'p');
    EXPECT_EQ(parse(replace(valid_json(), R"(["t","test"])", "[\"i\",\"" + prompt + "\"]")),
              Reject::none);
    Limits tight;
    tight.tag_element_bytes_max = 59999;
    EXPECT_EQ(parse(replace(valid_json(), R"(["t","test"])", "[\"i\",\"" + prompt + "\"]"), tight),
              Reject::tag_value_too_long);
    Limits small;
    small.tags_max = 3;
    small.tag_elements_max = 3;
    EXPECT_EQ(
        parse(replace(valid_json(), R"([["t","test"]])", R"([["a"],["b"],["c"],["d"]])"), small),
        Reject::too_many_tags);
    EXPECT_EQ(parse(replace(valid_json(), R"([["t","test"]])", R"([["a","1","2","3"]])"), small),
              Reject::too_many_tag_elements);
}

TEST(EventHostile, BoundsAndDepth) {
    Limits small;
    small.content_bytes_max = 4;
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":"12345")"), small),
              Reject::content_too_long);
    small = Limits{};
    small.message_bytes_max = 100;
    EXPECT_EQ(parse(valid_json(), small), Reject::too_large);
    small = Limits{};
    small.event_bytes_max = 300;
    EXPECT_EQ(parse(valid_json(), small), Reject::event_too_large);
    std::string deep = std::string(100, '[') + std::string(100, ']');
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":"x","d":)" + deep)),
              Reject::json_depth);
}

TEST(EventHostile, InvalidUtf8) {
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", "\"content\":\"\xc3\x28\"")),
              Reject::invalid_utf8);
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", "\"content\":\"\xed\xa0\x80\"")),
              Reject::invalid_utf8);  // an encoded surrogate
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":"\ud800")")),
              Reject::json_syntax);  // a lone surrogate escape
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":"\udc00x")")),
              Reject::json_syntax);
    EXPECT_EQ(parse(replace(valid_json(), R"("content":"x")", R"("content":"\u0000ok")")),
              Reject::none);  // NUL is valid UTF-8 and serialises as \u0000
}

TEST(EventHostile, EscapedInputSerialisesCanonically) {
    // Input escapes are decoded; the canonical form uses NIP-01's escapes, not the input's.
    JsonReader reader;
    Event e;
    ASSERT_EQ(e.read_json(reader, replace(valid_json(), R"("content":"x")",
                                          R"("content":"\/\u00e9\u001F\u007f")")),
              Reject::none);
    EXPECT_EQ(e.content(), "/\xc3\xa9\x1f\x7f");
    std::string canon;
    e.serialize_canonical(canon);
    EXPECT_NE(canon.find("\"/\xc3\xa9\\u001f\x7f\"]"), std::string::npos) << canon;
}

}  // namespace
}  // namespace pylon::proto
