// AuthEvent: a built kind-22242 event carries relay and challenge, passes the relay-side check,
// and each wrong field (challenge, relay, time, kind, signature) fails it with a reason.
#include "proto/auth_event.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"

namespace pylon::proto {
namespace {

TEST(AuthEvent, BuildReadCheck) {
    auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(kp.ok());
    AuthEvent a{"wss://relay.example.com/", "chal-1"};
    Event e;
    a.build(1700000000, kp.value(), csprng(), e);
    EXPECT_EQ(e.kind(), 22242u);
    EXPECT_EQ(e.content(), "");
    AuthEvent back;
    ASSERT_EQ(back.read(e), Reject::none);
    EXPECT_EQ(back.relay_url, "wss://relay.example.com/");
    EXPECT_EQ(back.challenge, "chal-1");

    EXPECT_EQ(AuthEvent::check(e, "wss://relay.example.com", "chal-1", 1700000000), Reject::none);
    EXPECT_EQ(AuthEvent::check(e, "wss://RELAY.example.com/", "chal-1", 1700000300), Reject::none);
    EXPECT_EQ(AuthEvent::check(e, "wss://relay.example.com", "chal-2", 1700000000),
              Reject::bad_tag);
    EXPECT_EQ(AuthEvent::check(e, "wss://other.example.com", "chal-1", 1700000000),
              Reject::bad_tag);
    EXPECT_EQ(AuthEvent::check(e, "wss://relay.example.com", "chal-1", 1700000601),
              Reject::bad_created_at);
    EXPECT_EQ(AuthEvent::check(e, "wss://relay.example.com", "chal-1", 1699999399),
              Reject::bad_created_at);
    Event forged = e;
    forged.set_created_at(1700000001);
    EXPECT_EQ(AuthEvent::check(forged, "wss://relay.example.com", "chal-1", 1700000000),
              Reject::bad_event_id);
    Event wrong_kind = e;
    wrong_kind.set_kind(1);
    EXPECT_EQ(AuthEvent::check(wrong_kind, "wss://relay.example.com", "chal-1", 1700000000),
              Reject::wrong_kind);
    Event missing;
    missing.set_kind(22242);
    missing.add_tag({"relay", "wss://relay.example.com"});
    EXPECT_EQ(back.read(missing), Reject::missing_field);
}

}  // namespace
}  // namespace pylon::proto
