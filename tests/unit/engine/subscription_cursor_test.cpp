#include "engine/subscription_cursor.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(SubscriptionCursor, FollowsTheNewestRequestRead) {
    SubscriptionCursor c(100);
    c.advance(90);  // an older request delivered late does not move it back
    c.advance(120);
    EXPECT_EQ(c.newest(), 120);
    EXPECT_EQ(c.durable(), 120);
    EXPECT_EQ(c.take_since_for_req(), 120);
}

TEST(SubscriptionCursor, DeferredRequestsAreFetchedAgainAndNeverPersistedPast) {
    SubscriptionCursor c(100);
    c.defer(110);
    c.defer(105);
    c.advance(130);  // newer requests read meanwhile
    EXPECT_EQ(c.durable(), 105);
    EXPECT_EQ(c.take_since_for_req(), 105);
    // The REQ asked for them again: the cursor is free to move on.
    EXPECT_EQ(c.durable(), 130);
    EXPECT_EQ(c.take_since_for_req(), 130);
}

// A node stopped (or killed) while paused must find its held requests again after the restart:
// the persisted cursor stays at the oldest of them although newer requests were read.
TEST(SubscriptionCursor, HeldRequestsKeepTheDurableCursorBackUntilTheResume) {
    SubscriptionCursor c(100);
    c.advance(110);
    c.hold(112);
    c.hold(111);
    c.advance(140);
    EXPECT_EQ(c.newest(), 140);
    EXPECT_EQ(c.durable(), 111);
    // The resume's REQ need not ask for held requests again (the intake admits them), so it
    // starts from the newest; afterwards nothing holds the cursor back.
    EXPECT_EQ(c.take_since_for_req(), 140);
    EXPECT_EQ(c.durable(), 140);
}

TEST(SubscriptionCursor, TheOldestOfDeferredAndHeldWins) {
    SubscriptionCursor c(100);
    c.advance(150);
    c.hold(130);
    c.defer(120);
    EXPECT_EQ(c.durable(), 120);
    EXPECT_EQ(c.take_since_for_req(), 120);
    EXPECT_EQ(c.durable(), 150);
}

}  // namespace
}  // namespace pylon::engine
