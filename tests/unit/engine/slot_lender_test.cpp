#include "engine/slot_lender.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pylon::engine {
namespace {

struct Recorder final : LenderSink {
    std::vector<std::string> log;
    void grant(unsigned shard) override { log.push_back("grant " + std::to_string(shard)); }
    void recall(unsigned shard, bool on) override {
        log.push_back(std::string(on ? "recall " : "end-recall ") + std::to_string(shard));
    }
    std::vector<std::string> take() { return std::exchange(log, {}); }
};

using Log = std::vector<std::string>;

TEST(SlotLender, GrantsWhileFreeThenQueuesInRequestOrder) {
    Recorder r;
    SlotLender lender(3, 2, &r);
    lender.request(0);
    lender.request(1);
    EXPECT_EQ(r.take(), (Log{"grant 0", "grant 1"}));
    EXPECT_EQ(lender.leased(), 2u);
    lender.request(2);  // no slot left: shard 2 waits and the holders are recalled
    EXPECT_EQ(r.take(), (Log{"recall 0", "recall 1"}));
    lender.request(0);
    EXPECT_EQ(lender.waiting(), 2u);
    lender.give_back(1, 1);
    // First come, first served. Only shard 0 waits now: it is not recalled for its own
    // request, but shard 2 (a holder now) is.
    EXPECT_EQ(r.take(), (Log{"grant 2", "end-recall 0", "recall 2"}));
    lender.give_back(0, 1);
    // Shard 0 gets its slot back; nobody waits any more: the recall ends everywhere.
    EXPECT_EQ(r.take(), (Log{"grant 0", "end-recall 1", "end-recall 2"}));
    EXPECT_EQ(lender.leased(), 2u);
    EXPECT_FALSE(lender.recalling());
}

TEST(SlotLender, OneOutstandingRequestPerShard) {
    Recorder r;
    SlotLender lender(2, 1, &r);
    lender.request(0);
    lender.request(1);
    lender.request(1);
    EXPECT_EQ(lender.waiting(), 1u);
    lender.give_back(0, 1);
    EXPECT_EQ(lender.leased_by(1), 1u);
    EXPECT_EQ(lender.waiting(), 0u);
}

TEST(SlotLender, AShardIsNotRecalledForItsOwnRequestAndMayWithdraw) {
    Recorder r;
    SlotLender lender(2, 1, &r);
    lender.request(0);
    lender.request(0);  // wants a second slot: nobody else waits, no recall
    EXPECT_EQ(r.take(), (Log{"grant 0"}));
    EXPECT_EQ(lender.waiting(), 1u);
    lender.withdraw(0);
    EXPECT_EQ(lender.waiting(), 0u);
    lender.give_back(0, 1);
    EXPECT_EQ(lender.leased(), 0u);
    EXPECT_TRUE(r.take().empty());
}

TEST(SlotLender, CapacityZeroGrantsNothingUntilItComesBack) {
    Recorder r;
    SlotLender lender(2, 0, &r);
    lender.request(1);
    EXPECT_EQ(lender.leased(), 0u);
    EXPECT_EQ(lender.waiting(), 1u);
    r.take();
    lender.set_capacity(3);
    EXPECT_EQ(r.take(), (Log{"grant 1"}));
    EXPECT_EQ(lender.leased(), 1u);
}

TEST(SlotLender, CapacityDropRecallsAndNeverOverGrants) {
    Recorder r;
    SlotLender lender(2, 3, &r);
    lender.request(0);
    lender.request(0);
    lender.request(1);
    r.take();
    lender.set_capacity(1);  // three leased, one allowed
    EXPECT_TRUE(lender.recalling());
    lender.request(1);
    lender.give_back(0, 1);
    lender.give_back(0, 1);
    EXPECT_EQ(lender.leased(), 1u);
    // No grant (at capacity); shard 1 waits only for itself: its recall ends.
    EXPECT_EQ(r.take(), (Log{"recall 0", "recall 1", "end-recall 1"}));
    lender.give_back(1, 1);
    EXPECT_EQ(lender.leased(), 1u);  // the waiting request of shard 1 got it
    EXPECT_EQ(lender.leased_by(1), 1u);
    EXPECT_FALSE(lender.recalling());
}

}  // namespace
}  // namespace pylon::engine
