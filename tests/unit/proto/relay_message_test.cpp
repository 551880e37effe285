// RelayMessage: every relay->client message written by a relay simulator parses back (EVENT with
// vector events, OK with each machine prefix, EOSE, CLOSED, NOTICE, AUTH, COUNT), prefixes are
// classified as NIP-01/NIP-42 define them, and hostile messages are refused with reasons.
#include "proto/relay_message.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

Reject parse(std::string_view json, RelayMessage& m) {
    JsonReader reader;
    return m.read_json(reader, json);
}

TEST(RelayMessage, EventFromRelay) {
    test::VectorFile file("nostr-events.json");
    JsonReader reader;
    RelayMessage m;
    for (simdjson::dom::element c : test::arr(file.root(), "dvm_flow")) {
        Event e;
        ASSERT_EQ(e.read_json(reader, test::json_text(test::at(c, "event"))), Reject::none);
        std::string wire;
        write_relay_event(wire, "jobs", e);
        ASSERT_EQ(m.read_json(reader, wire), Reject::none);
        EXPECT_EQ(m.type, RelayMessageType::event);
        EXPECT_EQ(m.subid, "jobs");
        EXPECT_EQ(m.event.to_json(), e.to_json());
        EXPECT_EQ(m.event.verify(), Reject::none);
    }
}

TEST(RelayMessage, OkWithPrefixes) {
    EventId id{};
    id[0] = 0xab;
    struct Case {
        std::string_view text;
        MachinePrefix prefix;
        std::string_view reason;
    };
    const Case cases[] = {
        {"", MachinePrefix::none, ""},
        {"duplicate: have this event", MachinePrefix::duplicate, "have this event"},
        {"pow: difficulty 20 < 25", MachinePrefix::pow, "difficulty 20 < 25"},
        {"blocked: you are banned", MachinePrefix::blocked, "you are banned"},
        {"rate-limited: slow down", MachinePrefix::rate_limited, "slow down"},
        {"invalid: bad event id", MachinePrefix::invalid, "bad event id"},
        {"restricted: not allowed", MachinePrefix::restricted, "not allowed"},
        {"mute: shh", MachinePrefix::mute, "shh"},
        {"error: could not connect to the database", MachinePrefix::error,
         "could not connect to the database"},
        {"auth-required: we only accept events from registered users", MachinePrefix::auth_required,
         "we only accept events from registered users"},
        {"unsupported: filter contains unknown elements", MachinePrefix::unsupported,
         "filter contains unknown elements"},
        {"bad req: too many filters", MachinePrefix::none, "bad req: too many filters"},
        {"count-failed: x", MachinePrefix::other, "x"},
        {"no prefix here", MachinePrefix::none, "no prefix here"},
    };
    for (const Case& c : cases) {
        for (bool accepted : {true, false}) {
            std::string wire;
            write_relay_ok(wire, id, accepted, c.text);
            RelayMessage m;
            ASSERT_EQ(parse(wire, m), Reject::none) << wire;
            EXPECT_EQ(m.type, RelayMessageType::ok);
            EXPECT_EQ(m.ok_id, id);
            EXPECT_EQ(m.ok_accepted, accepted);
            EXPECT_EQ(m.text, c.text);
            EXPECT_EQ(m.prefix, c.prefix) << c.text;
            EXPECT_EQ(m.reason(), c.reason);
        }
        EXPECT_EQ(parse_machine_prefix(c.text), c.prefix);
    }
    EXPECT_EQ(machine_prefix_text(MachinePrefix::rate_limited), "rate-limited");
    EXPECT_EQ(machine_prefix_text(MachinePrefix::auth_required), "auth-required");
    // Old relays omit the message.
    RelayMessage m;
    ASSERT_EQ(parse(R"(["OK",")" + hex_encode(id) + R"(",true])", m), Reject::none);
    EXPECT_EQ(m.text, "");
}

TEST(RelayMessage, EoseClosedNoticeAuthCount) {
    RelayMessage m;
    std::string wire;
    write_relay_eose(wire, "s1");
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, RelayMessageType::eose);
    EXPECT_EQ(m.subid, "s1");

    wire.clear();
    write_relay_closed(wire, "s1", "auth-required: log in first");
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, RelayMessageType::closed);
    EXPECT_EQ(m.prefix, MachinePrefix::auth_required);
    EXPECT_EQ(m.reason(), "log in first");
    ASSERT_EQ(parse(R"(["CLOSED","s1"])", m), Reject::none);
    EXPECT_EQ(m.prefix, MachinePrefix::none);

    wire.clear();
    write_relay_notice(wire, "line\nbreak \"quoted\"");
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, RelayMessageType::notice);
    EXPECT_EQ(m.text, "line\nbreak \"quoted\"");

    wire.clear();
    write_relay_auth(wire, "challenge-123");
    EXPECT_EQ(wire, R"(["AUTH","challenge-123"])");
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, RelayMessageType::auth);
    EXPECT_EQ(m.text, "challenge-123");

    wire.clear();
    write_relay_count(wire, "q", 42, true);
    EXPECT_EQ(wire, R"(["COUNT","q",{"count":42,"approximate":true}])");
    ASSERT_EQ(parse(wire, m), Reject::none);
    EXPECT_EQ(m.type, RelayMessageType::count);
    EXPECT_EQ(m.count, 42u);
    EXPECT_TRUE(m.approximate);
    ASSERT_EQ(parse(R"(["COUNT","q",{"count":7,"hll":"00ff"}])", m), Reject::none);
    EXPECT_EQ(m.count, 7u);
    EXPECT_FALSE(m.approximate);
}

TEST(RelayMessage, ReuseResetsFieldsOfTheLastMessage) {
    // Found by relay_message_fuzz: a reused message kept the subid of the previous one.
    JsonReader reader;
    RelayMessage m;
    ASSERT_EQ(
        m.read_json(reader, std::string_view(R"(["COUNT","s1",{"count":5,"approximate":true}])")),
        Reject::none);
    ASSERT_EQ(m.read_json(reader, std::string_view(R"(["AUTH","k"])")), Reject::none);
    EXPECT_EQ(m.subid, "");
    EXPECT_EQ(m.count, 0u);
    EXPECT_FALSE(m.approximate);
    EXPECT_EQ(m.text, "k");
}

TEST(RelayMessageHostile, RefusedWithReasons) {
    RelayMessage m;
    EXPECT_EQ(parse("{}", m), Reject::not_array);
    EXPECT_EQ(parse(R"(["OKAY"])", m), Reject::unknown_message);
    EXPECT_EQ(parse(R"(["OK","abc",true,""])", m), Reject::bad_hex);
    EXPECT_EQ(parse(R"(["OK",")" + std::string(64, 'a') + R"(","true",""])", m),
              Reject::wrong_type);
    EXPECT_EQ(parse(R"(["OK",")" + std::string(64, 'a') + R"(",true,5])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["OK",")" + std::string(64, 'a') + R"(",true,"",1])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["EOSE"])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["EOSE",""])", m), Reject::bad_subid);
    EXPECT_EQ(parse(R"(["EVENT","s"])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["EVENT","s",{"id":1}])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["EVENT","s",{"id":"1"}])", m), Reject::bad_hex);
    EXPECT_EQ(parse(R"(["EVENT","s",[],1,2,3,4,5])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["NOTICE"])", m), Reject::bad_arity);
    EXPECT_EQ(parse(R"(["NOTICE",{}])", m), Reject::wrong_type);
    EXPECT_EQ(parse("[\"NOTICE\",\"" + std::string(5000, 'n') + "\"]", m), Reject::string_too_long);
    EXPECT_EQ(parse(R"(["AUTH",{}])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["COUNT","q",{}])", m), Reject::missing_field);
    EXPECT_EQ(parse(R"(["COUNT","q",{"count":-1}])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["COUNT","q",{"count":1,"approximate":"yes"}])", m), Reject::wrong_type);
    EXPECT_EQ(parse(R"(["CLOSED","s","x","y"])", m), Reject::bad_arity);
}

}  // namespace
}  // namespace pylon::proto
