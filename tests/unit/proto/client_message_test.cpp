// ClientMessage: every client->relay message written by us parses back to the same values (EVENT
// with the escape-heavy vector events, REQ/COUNT with several filters, CLOSE, AUTH), and hostile
// messages (wrong arity, bad subids, unknown types, too many filters) are refused with reasons.
#include "proto/client_message.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

Reject parse(std::string_view json, ClientMessage& m, const Limits& limits = Limits{}) {
    JsonReader reader(limits);
    return m.read_json(reader, json);
}

TEST(ClientMessage, EventRoundTripWithVectorEvents) {
    test::VectorFile file("nostr-events.json");
    JsonReader reader;
    ClientMessage m;  // reused across parses
    for (simdjson::dom::element c : test::arr(file.root(), "serialization_cases")) {
        Event e;
        ASSERT_EQ(e.read_json(reader, test::json_text(test::at(c, "event"))), Reject::none);
        std::string wire;
        write_client_event(wire, e);
        std::string canonical;
        e.serialize_canonical(canonical);
        std::string copied;
        write_client_event(copied, e, canonical);
        EXPECT_EQ(copied, wire);
        ASSERT_EQ(m.read_json(reader, wire), Reject::none) << wire;
        EXPECT_EQ(m.type, ClientMessageType::event);
        EXPECT_EQ(m.event.to_json(), e.to_json());
        EXPECT_EQ(m.event.verify(), Reject::none);
        std::string padded = wire;
        json_reserve_padding(padded);
        ASSERT_EQ(m.read_json(reader, PaddedJson::of(padded)), Reject::none);
        EXPECT_EQ(m.event.id(), e.id());
    }
}

TEST(ClientMessage, ReqCountCloseAuth) {
    Filter a;
    a.kinds = std::vector<uint32_t>{5050};
    a.since = 10;
    Filter b;
    b.kinds = std::vector<uint32_t>{5};
    b.add_tag_value('e', std::string(64, 'a'));
    std::vector<Filter> filters = {a, b};
    std::string wire;
    write_client_req(wire, "sub-1", filters);
    EXPECT_EQ(wire,
              std::string(R"(["REQ","sub-1",{"kinds":[5050],"since":10},{"kinds":[5],"#e":[")") +
                  std::string(64, 'a') + R"("]}])");
    ClientMessage m;
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, ClientMessageType::req);
    EXPECT_EQ(m.subid, "sub-1");
    EXPECT_EQ(m.filters, filters);

    wire.clear();
    write_client_count(wire, "q", filters);
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, ClientMessageType::count);
    EXPECT_EQ(m.filters.size(), 2u);

    wire.clear();
    write_client_close(wire, "sub-1");
    EXPECT_EQ(wire, R"(["CLOSE","sub-1"])");
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, ClientMessageType::close);
    EXPECT_EQ(m.subid, "sub-1");
    EXPECT_TRUE(m.filters.empty());

    auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(kp.ok());
    Event auth;
    auth.set_kind(22242);
    auth.set_created_at(1700000000);
    auth.add_tag({"relay", "wss://relay.example.com"});
    auth.add_tag({"challenge", "c1"});
    auth.sign(kp.value());
    wire.clear();
    write_client_auth(wire, auth);
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, ClientMessageType::auth);
    EXPECT_EQ(m.event.kind(), 22242u);
    EXPECT_EQ(m.event.verify(), Reject::none);
}

TEST(ClientMessageHostile, RefusedWithReasons) {
    ClientMessage m;
    EXPECT_EQ(parse(R"({"EVENT":1})", m), Reject::not_array);
    EXPECT_EQ(parse("[]", m), Reject::unknown_message);
    EXPECT_EQ(parse("[1]", m), Reject::unknown_message);
    EXPECT_EQ(parse(R"(["PUBLISH",{}])", m), Reject::unknown_message);
    EXPECT_EQ(parse(R"(["event",{}])", m), Reject::unknown_message);
    EXPECT_EQ(parse(R"(["EVENT"])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["EVENT",{},{}])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["EVENT",{}])", m), Reject::missing_field);
    EXPECT_EQ(parse(R"(["EVENT","x"])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["REQ","s"])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["REQ","",{}])", m), Reject::bad_subid);
    EXPECT_EQ(parse(R"(["REQ",5,{}])", m), Reject::bad_subid);
    EXPECT_EQ(parse("[\"REQ\",\"" + std::string(65, 's') + "\",{}]", m), Reject::bad_subid);
    EXPECT_EQ(parse("[\"REQ\",\"" + std::string(64, 's') + "\",{}]", m), Reject::none);
    // 64 code points of 2 bytes each are fine: the bound is in characters.
    std::string wide;
    for (int i = 0; i < 64; ++i) {
        wide += "\xc3\xa9";
    }
    EXPECT_EQ(parse("[\"REQ\",\"" + wide + "\",{}]", m), Reject::none);
    EXPECT_EQ(parse(R"(["REQ","s",[]])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["CLOSE"])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["CLOSE","a","b"])", m), Reject::bad_arity);
    std::string many = R"(["REQ","s")";
    for (int i = 0; i < 17; ++i) {
        many += ",{}";
    }
    EXPECT_EQ(parse(many + "]", m), Reject::too_many_filters);
    for (int i = 0; i < 100; ++i) {
        many += ",{}";
    }
    EXPECT_EQ(parse(many + "]", m), Reject::too_many_filters);
    EXPECT_EQ(parse(R"(["REQ","s",{"kinds":[1]})", m), Reject::json_syntax);
    EXPECT_EQ(parse("[\"CLOSE\",\"\xff\"]", m), Reject::invalid_utf8);
    Limits small;
    small.message_bytes_max = 10;
    EXPECT_EQ(parse(R"(["CLOSE","abcdef"])", m, small), Reject::too_large);
}

}  // namespace
}  // namespace pylon::proto
