#include "engine/backend_slots.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "engine/slot_lender.hpp"
#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

// A lender and the slots of two "shards" wired by direct calls on one reactor shard.
struct Rig final : LenderSink {
    struct Up final : BackendSlots::Uplink {
        Up(Rig* r, unsigned s) : rig(r), shard(s) {}
        Rig* rig;
        unsigned shard;
        void request() override {
            rig->requests++;
            rig->lender.request(shard);
        }
        void withdraw() override {
            rig->withdraws++;
            rig->lender.withdraw(shard);
        }
        void give_back(std::uint32_t n) override {
            rig->give_backs++;
            rig->lender.give_back(shard, n);
        }
    };
    explicit Rig(std::uint32_t capacity, std::size_t queue_max)
        : lender(2, capacity, this),
          up{Up(this, 0), Up(this, 1)},
          slots{BackendSlots(&up[0], queue_max, 1000), BackendSlots(&up[1], queue_max, 1000)} {}
    void grant(unsigned shard) override { slots[shard].on_grant(); }
    void recall(unsigned shard, bool on) override { slots[shard].on_recall(on); }

    SlotLender lender;
    Up up[2];
    BackendSlots slots[2];
    int requests = 0;
    int give_backs = 0;
    int withdraws = 0;
};

Task<void> job(BackendSlots* s, std::vector<int>* order, int id, int work_turns,
               reactor::CancelToken token, std::vector<BackendSlots::Acquired>* results,
               bool past_bound) {
    BackendSlots::Acquired a = co_await s->acquire(token, past_bound);
    results->push_back(a);
    if (a != BackendSlots::Acquired::granted) {
        co_return;
    }
    order->push_back(id);
    for (int i = 0; i < work_turns; i++) {
        co_await reactor::yield();
    }
    s->release();
}

TEST(BackendSlots, LocalJobsReuseALeaseWithoutAskingAgain) {
    reactor::testing::run_on_shard([]() -> Task<void> {
        Rig rig(1, 8);
        std::vector<int> order;
        std::vector<BackendSlots::Acquired> results;
        reactor::Gate g;
        for (int i = 0; i < 4; i++) {
            g.spawn(job(&rig.slots[0], &order, i, 2, {}, &results, false));
        }
        co_await g.close();
        EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
        // One lease served all four jobs in turn: the second job's request for more was
        // withdrawn when the queue emptied, and the lease lingers for the next job.
        EXPECT_EQ(rig.requests, 2);
        EXPECT_EQ(rig.withdraws, 1);
        EXPECT_EQ(rig.give_backs, 0);
        EXPECT_EQ(rig.lender.waiting(), 0u);
        EXPECT_FALSE(rig.lender.recalling());  // never recalled for its own requests
        EXPECT_EQ(rig.slots[0].held(), 1u);
        rig.slots[0].sweep(0);
        rig.slots[0].sweep(999);
        EXPECT_EQ(rig.slots[0].held(), 1u);
        rig.slots[0].sweep(1000);  // idle for linger_ms: given back
        EXPECT_EQ(rig.slots[0].held(), 0u);
        EXPECT_EQ(rig.lender.leased(), 0u);
    });
}

TEST(BackendSlots, CompetingShardsShareTheSlotAndNeverExceedIt) {
    reactor::testing::run_on_shard([]() -> Task<void> {
        Rig rig(1, 8);
        std::vector<int> order;
        std::vector<BackendSlots::Acquired> results;
        reactor::Gate g;
        for (int i = 0; i < 3; i++) {
            g.spawn(job(&rig.slots[0], &order, 10 + i, 3, {}, &results, false));
            g.spawn(job(&rig.slots[1], &order, 20 + i, 3, {}, &results, false));
        }
        // The invariant holds at every turn: at most one slot in use over both shards.
        for (int turn = 0; turn < 200 && g.count() > 0; turn++) {
            EXPECT_LE(rig.slots[0].busy() + rig.slots[1].busy(), 1u);
            EXPECT_LE(rig.lender.leased(), 1u);
            co_await reactor::yield();
        }
        co_await g.close();
        EXPECT_EQ(order.size(), 6u);
        // Shard 1 got in before shard 0 had run all of its jobs (the recall works).
        std::size_t first_of_1 = 0;
        while (order[first_of_1] < 20) {
            first_of_1++;
        }
        EXPECT_LT(first_of_1, 3u);
    });
}

TEST(BackendSlots, QueueBoundRefusesAndCancelledWaitersLeave) {
    reactor::testing::run_on_shard([]() -> Task<void> {
        Rig rig(0, 2);  // no capacity: everything waits
        std::vector<int> order;
        std::vector<BackendSlots::Acquired> results;
        reactor::CancelSource cancel;
        reactor::Gate g;
        g.spawn(job(&rig.slots[0], &order, 1, 0, cancel.token(), &results, false));
        g.spawn(job(&rig.slots[0], &order, 2, 0, {}, &results, false));
        g.spawn(job(&rig.slots[0], &order, 3, 0, {}, &results, false));
        for (int i = 0; i < 5; i++) {
            co_await reactor::yield();
        }
        EXPECT_EQ(results, (std::vector<BackendSlots::Acquired>{BackendSlots::Acquired::full}));
        EXPECT_FALSE(rig.slots[0].has_room());
        cancel.cancel();
        co_await reactor::yield();
        EXPECT_EQ(rig.slots[0].waiting(), 1u);
        EXPECT_TRUE(rig.slots[0].has_room());
        rig.lender.set_capacity(1);  // job 2 gets the slot
        co_await g.close();
        EXPECT_EQ(order, (std::vector<int>{2}));
        EXPECT_EQ(results.back(), BackendSlots::Acquired::granted);
    });
}

// Jobs accepted before a restart (past_bound) wait beyond queue_max instead of being refused
// (audit C3); while they make the queue longer than its bound, new jobs are still refused.
TEST(BackendSlots, RerunsWaitPastTheBoundNewJobsDoNot) {
    reactor::testing::run_on_shard([]() -> Task<void> {
        Rig rig(0, 2);
        std::vector<int> order;
        std::vector<BackendSlots::Acquired> results;
        reactor::Gate g;
        for (int i = 0; i < 5; i++) {
            g.spawn(job(&rig.slots[0], &order, i, 1, {}, &results, true));
        }
        g.spawn(job(&rig.slots[0], &order, 9, 1, {}, &results, false));
        for (int i = 0; i < 5; i++) {
            co_await reactor::yield();
        }
        EXPECT_EQ(results, (std::vector<BackendSlots::Acquired>{BackendSlots::Acquired::full}));
        EXPECT_EQ(rig.slots[0].waiting(), 5u);
        EXPECT_FALSE(rig.slots[0].has_room());
        rig.lender.set_capacity(2);
        co_await g.close();
        EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
        EXPECT_EQ(results.size(), 6u);
        EXPECT_EQ(rig.slots[0].waiting(), 0u);
        EXPECT_TRUE(rig.slots[0].has_room());
    });
}

}  // namespace
}  // namespace pylon::engine
