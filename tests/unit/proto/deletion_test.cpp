// Deletion: the dvm_flow kind-5 cancellation names the request and cancels it only for the
// requester's key; malformed e tags are refused.
#include "proto/deletion.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"
#include "tests/unit/proto/nip90_fixture.hpp"

namespace pylon::proto {
namespace {

TEST(Deletion, DvmFlowCancellation) {
    testing::Nip90Vectors v;
    const Event& request = v.flow.at("job_request_5050");
    const Event& cancel = v.flow.at("cancel_kind5");
    Deletion d;
    ASSERT_EQ(d.read(cancel), Reject::none);
    EXPECT_EQ(d.author, request.pubkey());
    ASSERT_EQ(d.event_ids.size(), 1u);
    EXPECT_TRUE(d.names(request.id()));
    EXPECT_EQ(d.kinds, std::vector<uint32_t>{5050});
    EXPECT_EQ(d.reason, "no longer needed");
    EXPECT_TRUE(d.cancels(request.id(), request.pubkey()));
    // Someone else's deletion naming the request does not cancel it.
    EXPECT_FALSE(d.cancels(request.id(), v.key("provider").public_key()));
    EventId other = request.id();
    other[0] ^= 1;
    EXPECT_FALSE(d.cancels(other, request.pubkey()));
}

TEST(DeletionHostile, Read) {
    Deletion d;
    Event e;
    e.set_kind(1);
    EXPECT_EQ(d.read(e), Reject::wrong_kind);
    e.set_kind(5);
    e.add_tag({"e", "abc"});
    EXPECT_EQ(d.read(e), Reject::bad_tag);
    e.truncate_tags(0);
    e.add_tag({"a", "31990:" + std::string(64, 'a') + ":d"});
    e.add_tag({"k", "notanumber"});
    ASSERT_EQ(d.read(e), Reject::none);
    EXPECT_EQ(d.addresses.size(), 1u);
    EXPECT_TRUE(d.kinds.empty());
}

}  // namespace
}  // namespace pylon::proto
