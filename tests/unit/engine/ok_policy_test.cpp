#include "engine/ok_policy.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

using P = proto::MachinePrefix;

TEST(OkPolicy, PrefixesDecideWhatHappens) {
    EXPECT_EQ(ok_action(true, P::none), OkAction::delivered);
    EXPECT_EQ(ok_action(true, P::duplicate), OkAction::delivered);
    EXPECT_EQ(ok_action(false, P::duplicate), OkAction::delivered);
    EXPECT_EQ(ok_action(true, P::pow), OkAction::delivered);
    EXPECT_EQ(ok_action(false, P::rate_limited), OkAction::retry);
    EXPECT_EQ(ok_action(false, P::error), OkAction::retry);
    EXPECT_EQ(ok_action(false, P::none), OkAction::retry);
    EXPECT_EQ(ok_action(false, P::auth_required), OkAction::auth_then_retry);
    EXPECT_EQ(ok_action(false, P::invalid), OkAction::give_up);
    EXPECT_EQ(ok_action(false, P::blocked), OkAction::give_up);
    EXPECT_EQ(ok_action(false, P::restricted), OkAction::give_up);
    EXPECT_EQ(ok_action(false, P::pow), OkAction::give_up);
}

TEST(OkPolicy, OkTextsParseToTheirPrefix) {
    EXPECT_EQ(ok_action(false, proto::parse_machine_prefix("rate-limited: slow down")),
              OkAction::retry);
    EXPECT_EQ(ok_action(false, proto::parse_machine_prefix("invalid: bad event id")),
              OkAction::give_up);
    EXPECT_EQ(ok_action(true, proto::parse_machine_prefix("duplicate: have this event")),
              OkAction::delivered);
    EXPECT_EQ(ok_action(false, proto::parse_machine_prefix("auth-required: who are you")),
              OkAction::auth_then_retry);
}

TEST(OkPolicy, RetryDelaysDoubleAndAreBounded) {
    EXPECT_EQ(publish_retry_delay_ms(2), 1000);
    EXPECT_EQ(publish_retry_delay_ms(3), 2000);
    EXPECT_EQ(publish_retry_delay_ms(4), 4000);
    EXPECT_EQ(publish_retry_delay_ms(100), publish_retry_delay_ms_max);
}

}  // namespace
}  // namespace pylon::engine
