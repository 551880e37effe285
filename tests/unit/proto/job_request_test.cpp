// JobRequest: the dvm_flow 5050 request reads into the expected typed value; both encrypted_job
// requests (NIP-44 with the vector's nonce, NIP-04 with its IV) decrypt into the plaintext tags,
// report their cipher, and re-encrypting with the same nonce/IV and signing with zero aux
// reproduces the published events; hostile requests are refused with reasons.
#include "proto/job_request.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "proto/nip04.hpp"
#include "proto/nip44.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/unit/proto/nip90_fixture.hpp"

namespace pylon::proto {
namespace {

using testing::Nip90Vectors;

TEST(JobRequest, DvmFlowRequest) {
    Nip90Vectors v;
    const Event& ev = v.flow.at("job_request_5050");
    JobRequest req;
    ASSERT_EQ(req.read(ev), Reject::none);
    EXPECT_EQ(req.id, ev.id());
    EXPECT_EQ(req.customer, v.key("customer").public_key());
    EXPECT_EQ(req.kind, 5050u);
    EXPECT_EQ(req.result_kind(), 6050u);
    ASSERT_EQ(req.inputs.size(), 1u);
    EXPECT_EQ(req.inputs[0].data, "What is the capital of France?");
    EXPECT_EQ(req.inputs[0].type, InputType::text);
    EXPECT_EQ(req.first_text_input(), "What is the capital of France?");
    ASSERT_EQ(req.params.size(), 2u);
    ASSERT_NE(req.param("model"), nullptr);
    EXPECT_EQ(req.param("model")->values.at(0), "llama3");
    EXPECT_EQ(req.param("max_tokens")->values.at(0), "64");
    EXPECT_EQ(req.output, "text/plain");
    EXPECT_EQ(req.bid_msats, 10000u);
    EXPECT_EQ(req.relays,
              (std::vector<std::string>{"wss://relay.example.com", "wss://relay2.example.com"}));
    ASSERT_EQ(req.providers.size(), 1u);
    EXPECT_TRUE(req.addressed_to(v.key("provider").public_key()));
    EXPECT_FALSE(req.addressed_to(v.key("customer").public_key()));
    EXPECT_FALSE(req.encrypted);
    EXPECT_EQ(req.request_json, ev.to_json());
}

void check_decrypted(const JobRequest& req) {
    ASSERT_EQ(req.inputs.size(), 1u);
    EXPECT_EQ(req.inputs[0].data, "What is the capital of France?");
    ASSERT_NE(req.param("max_tokens"), nullptr);
    EXPECT_EQ(req.param("max_tokens")->values.at(0), "64");
}

TEST(JobRequest, EncryptedNip44AndNip04Decrypt) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    JsonReader reader;
    JobRequest req;
    ASSERT_EQ(req.read(v.nip44_request), Reject::none);  // clear tags only
    EXPECT_TRUE(req.encrypted);
    EXPECT_TRUE(req.inputs.empty());
    EXPECT_TRUE(req.addressed_to(provider.public_key()));

    ASSERT_EQ(req.read_encrypted(v.nip44_request, provider.secret(), reader), Reject::none);
    EXPECT_EQ(req.cipher, Cipher::nip44);
    check_decrypted(req);

    ASSERT_EQ(req.read_encrypted(v.nip04_request, provider.secret(), reader), Reject::none);
    EXPECT_EQ(req.cipher, Cipher::nip04);
    check_decrypted(req);

    // The wrong key cannot decrypt.
    Keypair customer = v.key("customer");
    EXPECT_EQ(req.read_encrypted(v.nip44_request, customer.secret(), reader), Reject::bad_mac);
    // A clear request is not encrypted.
    EXPECT_EQ(req.read_encrypted(v.flow.at("job_request_5050"), provider.secret(), reader),
              Reject::not_encrypted);
}

TEST(JobRequest, EncryptedRequestsAreReproducible) {
    Nip90Vectors v;
    Keypair customer = v.key("customer");
    Keypair provider = v.key("provider");
    simdjson::dom::element enc = v.encrypted_job();
    std::string_view plaintext = test::str(enc, "plaintext_tags_json");

    Nip44ConversationKey ck;
    ASSERT_EQ(nip44_conversation_key(customer.secret(), provider.public_key(), ck), Reject::none);
    EXPECT_EQ(hex_encode(ck.span()), test::str(test::at(enc, "nip44"), "conversation_key"));
    std::string payload44;
    ASSERT_EQ(
        nip44_encrypt(ck, plaintext,
                      test::unhex_array<32>(test::str(test::at(enc, "nip44"), "nonce")), payload44),
        Reject::none);
    EXPECT_EQ(payload44, v.nip44_request.content());

    Nip04Key k04;
    ASSERT_EQ(nip04_shared_key(customer.secret(), provider.public_key(), k04), Reject::none);
    EXPECT_EQ(hex_encode(k04.span()), test::str(test::at(enc, "nip04"), "shared_x"));
    std::string payload04;
    nip04_encrypt(k04, plaintext, test::unhex_array<16>(test::str(test::at(enc, "nip04"), "iv")),
                  payload04);
    EXPECT_EQ(payload04, v.nip04_request.content());

    for (const Event* original : {&v.nip44_request, &v.nip04_request}) {
        Event built;
        built.set_kind(5050);
        built.set_created_at(original->created_at());
        built.add_tag({"p", provider.public_key().hex()});
        built.add_tag({"encrypted"});
        built.set_content(original == &v.nip44_request ? payload44 : payload04);
        FixedRandom zeros;
        built.sign(customer, zeros);
        EXPECT_EQ(built.to_json(), original->to_json());
    }
}

TEST(JobRequest, PromptAliasAndTolerantTags) {
    Event e;
    e.set_kind(5050);
    e.add_tag({"i", "hello", "prompt"});
    e.add_tag({"i", std::string(64, 'a'), "event", "wss://r.example.com", "source"});
    e.add_tag({"i", "https://example.com/x.txt", "url"});
    e.add_tag({"param", "range", "10", "20"});
    e.add_tag({"relays", "wss://ok.example.com", "https://not-a-relay.example.com"});
    e.add_tag({"t", "ignored"});
    e.add_tag({"output"});
    JobRequest req;
    ASSERT_EQ(req.read(e), Reject::none);
    ASSERT_EQ(req.inputs.size(), 3u);
    EXPECT_EQ(req.inputs[0].type, InputType::text);
    EXPECT_EQ(req.inputs[0].type_name, "prompt");
    EXPECT_EQ(req.inputs[1].type, InputType::event);
    EXPECT_EQ(req.inputs[1].relay, "wss://r.example.com");
    EXPECT_EQ(req.inputs[1].marker, "source");
    EXPECT_EQ(req.inputs[2].type, InputType::url);
    EXPECT_EQ(req.param("range")->values, (std::vector<std::string>{"10", "20"}));
    EXPECT_EQ(req.relays, std::vector<std::string>{"wss://ok.example.com"});
    EXPECT_TRUE(req.providers.empty());
    EXPECT_TRUE(req.addressed_to(PublicKey()));
}

// A bid that is not a millisat amount does not make the request unreadable: it is kept as
// written (bounded) so the provider can answer "bad bid" (audit F5: it was dropped silently).
TEST(JobRequestHostile, BadBidIsKeptToAnswer) {
    auto bad_bid_of = [](std::initializer_list<std::string_view> bid) {
        Event e;
        e.set_kind(5050);
        e.add_tag({"i", "hello", "text"});
        e.add_tag(bid);
        JobRequest req;
        EXPECT_EQ(req.read(e), Reject::none);
        EXPECT_FALSE(req.bid_msats.has_value());
        EXPECT_EQ(req.first_text_input(), "hello");
        return req.bad_bid ? std::optional<std::string>(*req.bad_bid) : std::nullopt;
    };
    EXPECT_EQ(bad_bid_of({"bid", "lots"}), "lots");
    EXPECT_EQ(bad_bid_of({"bid", "-5"}), "-5");
    EXPECT_EQ(bad_bid_of({"bid", "1.5"}), "1.5");
    EXPECT_EQ(bad_bid_of({"bid", "1e3"}), "1e3");
    EXPECT_EQ(bad_bid_of({"bid", "99999999999999999999"}), "99999999999999999999");  // > 2^64
    EXPECT_EQ(bad_bid_of({"bid", ""}), "");
    EXPECT_EQ(bad_bid_of({"bid"}), "");
    std::string long_bid = std::string(job_bad_bid_bytes_max - 1, '9') + "\xc3\xa9x";
    EXPECT_EQ(bad_bid_of({"bid", long_bid}), std::string(job_bad_bid_bytes_max - 1, '9'));
    Event ok;
    ok.set_kind(5050);
    ok.add_tag({"bid", "18446744073709551615"});
    JobRequest req;
    ASSERT_EQ(req.read(ok), Reject::none);
    EXPECT_EQ(req.bid_msats, 18446744073709551615u);
    EXPECT_EQ(req.bad_bid, nullptr);
}

Reject read_with(std::initializer_list<std::initializer_list<std::string_view>> tags,
                 uint32_t kind = 5050, const Limits& limits = Limits{}) {
    Event e;
    e.set_kind(kind);
    for (auto t : tags) {
        e.add_tag(t);
    }
    JobRequest req;
    return req.read(e, limits);
}

TEST(JobRequestHostile, RefusedWithReasons) {
    EXPECT_EQ(read_with({}, 1), Reject::wrong_kind);
    EXPECT_EQ(read_with({}, 4999), Reject::wrong_kind);
    EXPECT_EQ(read_with({}, 6000), Reject::wrong_kind);
    EXPECT_EQ(read_with({}, 5999), Reject::none);
    EXPECT_EQ(read_with({{"i", "x"}}), Reject::bad_input);
    EXPECT_EQ(read_with({{"i", "x", "video"}}), Reject::bad_input_type);
    EXPECT_EQ(read_with({{"i", "x", "event"}}), Reject::bad_input);  // not an event id
    EXPECT_EQ(read_with({{"i", "X", "job"}}), Reject::bad_input);
    EXPECT_EQ(read_with({{"param", "k"}}), Reject::bad_param);
    EXPECT_EQ(read_with({{"param", "", "v"}}), Reject::bad_param);
    EXPECT_EQ(read_with({{"p", "npub1xyz"}}), Reject::bad_tag);
    Limits small;
    small.job_inputs_max = 1;
    small.job_params_max = 1;
    small.job_relays_max = 1;
    small.job_providers_max = 1;
    EXPECT_EQ(read_with({{"i", "a", "text"}, {"i", "b", "text"}}, 5050, small),
              Reject::too_many_inputs);
    EXPECT_EQ(read_with({{"param", "a", "1"}, {"param", "b", "2"}}, 5050, small),
              Reject::too_many_inputs);
    EXPECT_EQ(read_with({{"relays", "wss://a", "wss://b"}}, 5050, small), Reject::too_many_inputs);
    std::string pk(64, 'b');
    EXPECT_EQ(read_with({{"p", pk}, {"p", pk}}, 5050, small), Reject::too_many_inputs);
}

TEST(JobRequestHostile, EncryptedContentThatIsNotATagList) {
    Nip90Vectors v;
    Keypair customer = v.key("customer");
    Keypair provider = v.key("provider");
    JsonReader reader;
    for (std::string_view plaintext :
         {std::string_view("not json"), std::string_view("{\"i\":1}"),
          std::string_view("[[\"i\",\"x\",\"video\"]]"), std::string_view("[[1,2]]"),
          std::string_view("[[]]"), std::string_view("[\"i\"]")}) {
        std::string payload;
        ASSERT_EQ(encrypt_payload(Cipher::nip44, customer.secret(), provider.public_key(),
                                  plaintext, csprng(), payload),
                  Reject::none);
        Event e;
        e.set_kind(5050);
        e.add_tag({"p", provider.public_key().hex()});
        e.add_tag({"encrypted"});
        e.set_content(payload);
        e.sign(customer);
        JobRequest req;
        EXPECT_NE(req.read_encrypted(e, provider.secret(), reader), Reject::none) << plaintext;
    }
    Event garbage;
    garbage.set_kind(5050);
    garbage.add_tag({"encrypted"});
    garbage.set_content("definitely not a payload");
    garbage.sign(customer);
    JobRequest req;
    EXPECT_EQ(req.read_encrypted(garbage, provider.secret(), reader), Reject::bad_payload_length);
}

TEST(JobRequest, Msats) {
    uint64_t v = 0;
    EXPECT_TRUE(parse_msats("0", v));
    EXPECT_TRUE(parse_msats("18446744073709551615", v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_FALSE(parse_msats("18446744073709551616", v));
    EXPECT_FALSE(parse_msats("", v));
    EXPECT_FALSE(parse_msats("+1", v));
    EXPECT_FALSE(parse_msats("1e3", v));
    EXPECT_FALSE(parse_msats(" 1", v));
}

}  // namespace
}  // namespace pylon::proto
