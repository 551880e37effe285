#include "proto/domain_event.hpp"

#include <gtest/gtest.h>

#include "proto/json_reader.hpp"

namespace pylon::proto {
namespace {

TEST(DomainEvent, EveryKindHasANameThatRoundTrips) {
    for (std::size_t i = 0; i < event_kind_count; i++) {
        auto kind = static_cast<EventKind>(i);
        std::string_view name = event_kind_name(kind);
        EXPECT_FALSE(name.empty());
        EXPECT_EQ(event_kind_from_name(name), kind) << name;
        DomainEvent e;
        e.kind = kind;
        e.at_ms = 1700000000123;
        JsonReader reader;
        DomainEvent back;
        ASSERT_EQ(decode_domain_event(domain_event_json(e), reader, back), Reject::none) << name;
        EXPECT_EQ(back.kind, kind);
        EXPECT_EQ(back.at_ms, e.at_ms);
        EXPECT_FALSE(describe_domain_event(e).empty());
    }
    EXPECT_FALSE(event_kind_from_name("NoSuchEvent").has_value());
}

TEST(DomainEvent, ExternallyTaggedWithPylonFieldNames) {
    DomainEvent e = DomainEvent::job_received("job_0123456789abcdef", 5050, "ab12");
    e.at_ms = 5;
    EXPECT_EQ(domain_event_json(e),
              "{\"JobReceived\":{\"job_id\":\"job_0123456789abcdef\",\"kind\":5050,"
              "\"customer_pubkey\":\"ab12\",\"at_ms\":5}}");
    e = DomainEvent::job_completed("job_1", std::nullopt, 1500);
    e.at_ms = 6;
    EXPECT_EQ(domain_event_json(e),
              "{\"JobCompleted\":{\"job_id\":\"job_1\",\"amount_msats\":null,\"duration_ms\":1500,"
              "\"at_ms\":6}}");
    e = DomainEvent::relay_disconnected("wss://r", "");
    e.at_ms = 7;
    EXPECT_EQ(domain_event_json(e),
              "{\"RelayDisconnected\":{\"url\":\"wss://r\",\"reason\":null,\"at_ms\":7}}");
}

TEST(DomainEvent, FieldsRoundTrip) {
    DomainEvent e = DomainEvent::job_completed("job_9", 2000, 42);
    JsonReader reader;
    DomainEvent back;
    ASSERT_EQ(decode_domain_event(domain_event_json(e), reader, back), Reject::none);
    EXPECT_EQ(back.job_id, "job_9");
    EXPECT_EQ(back.amount_msats, 2000u);
    EXPECT_EQ(back.duration_ms, 42u);

    DomainEvent k;
    k.kind = EventKind::process_killed;
    k.pid = 123;
    k.name = "node";
    k.rss_bytes = 600u << 20;
    k.reason = "memory low";
    ASSERT_EQ(decode_domain_event(domain_event_json(k), reader, back), Reject::none);
    EXPECT_EQ(back.pid, 123);
    EXPECT_EQ(back.rss_bytes, 600u << 20);
    EXPECT_EQ(back.reason, "memory low");

    DomainEvent c;
    c.kind = EventKind::config_reloaded;
    c.keys = {"min_price_msats"};
    c.not_applied = {"relays"};
    ASSERT_EQ(decode_domain_event(domain_event_json(c), reader, back), Reject::none);
    EXPECT_EQ(back.keys, c.keys);
    EXPECT_EQ(back.not_applied, c.not_applied);
}

TEST(DomainEvent, DecodeRejectsGarbage) {
    JsonReader reader;
    DomainEvent e;
    EXPECT_EQ(decode_domain_event("{\"Nope\":{}}", reader, e), Reject::unknown_message);
    EXPECT_EQ(decode_domain_event("[1]", reader, e), Reject::wrong_type);
    EXPECT_EQ(decode_domain_event("{\"JobFailed\":{\"job_id\":5}}", reader, e), Reject::wrong_type);
    EXPECT_NE(decode_domain_event("{", reader, e), Reject::none);
    // Unknown fields from a newer daemon are ignored.
    EXPECT_EQ(decode_domain_event("{\"WentOffline\":{\"future\":1,\"at_ms\":2}}", reader, e),
              Reject::none);
    EXPECT_EQ(e.at_ms, 2);
}

}  // namespace
}  // namespace pylon::proto
