// Reject: every value has a unique snake_case name and a human text, and names line up with the
// enum (the table in reject.cpp is indexed by value).
#include "proto/reject.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pylon::proto {
namespace {

TEST(Reject, NamesAndTexts) {
    std::set<std::string_view> names;
    for (size_t i = 0; i <= static_cast<size_t>(Reject::bad_tlv); ++i) {
        auto r = static_cast<Reject>(i);
        EXPECT_FALSE(reject_name(r).empty());
        EXPECT_FALSE(reject_text(r).empty());
        EXPECT_TRUE(names.insert(reject_name(r)).second) << reject_name(r);
    }
    EXPECT_EQ(reject_name(Reject::none), "none");
    EXPECT_EQ(reject_name(Reject::bad_event_id), "bad_event_id");
    EXPECT_EQ(reject_text(Reject::bad_event_id), "bad event id");
    EXPECT_EQ(reject_name(Reject::bad_signature), "bad_signature");
    EXPECT_EQ(reject_name(Reject::bad_mac), "bad_mac");
    EXPECT_EQ(reject_text(Reject::bad_mac), "invalid MAC");
    EXPECT_EQ(reject_name(Reject::bad_tlv), "bad_tlv");
    EXPECT_EQ(reject_name(static_cast<Reject>(250)), "unknown");
}

}  // namespace
}  // namespace pylon::proto
