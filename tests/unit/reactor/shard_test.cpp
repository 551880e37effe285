#include "reactor/shard.hpp"

#include <gtest/gtest.h>

#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "reactor/probe.hpp"
#include "run_on_shards.hpp"

namespace pylon::reactor {
namespace {

TEST(Probe, ThisKernelIsUsable) {
    UringFeatures f = probe_uring();
    EXPECT_TRUE(f.usable()) << require_uring(f).error().message();
    EXPECT_TRUE(f.defer_taskrun);
    EXPECT_TRUE(f.buffer_ring);
    EXPECT_TRUE(f.msg_ring);
    EXPECT_FALSE(f.describe().empty());
}

using testing::run_on_shards;

TEST(Shard, SleepsForTheRequestedTimeWithoutBusyLooping) {
    std::int64_t elapsed_ms = 0;
    ShardCounters counters{};
    run_on_shards(1, [&](Shard& shard) -> Task<void> {
        return [](Shard* s, std::int64_t* out, ShardCounters* c) -> Task<void> {
            std::int64_t t0 = monotonic_ms();
            for (int i = 0; i < 5; i++) {
                EXPECT_TRUE(co_await sleep_ms(40));
            }
            *out = monotonic_ms() - t0;
            *c = s->counters();
        }(&shard, &elapsed_ms, &counters);
    });
    EXPECT_GE(elapsed_ms, 200);
    EXPECT_LT(elapsed_ms, 1000);
    // An idle shard wakes for its timers only: a handful of loop turns, not a spin.
    EXPECT_LT(counters.loops, 50u);
    EXPECT_GE(counters.waits, 5u);
}

TEST(Shard, YieldRunsOtherReadyTasksFirst) {
    std::vector<int> order;
    run_on_shards(1, [&](Shard& shard) -> Task<void> {
        return [](Shard* s, std::vector<int>* o) -> Task<void> {
            auto other = [](std::vector<int>* out) -> Task<void> {
                out->push_back(2);
                co_return;
            };
            s->spawn(other(o));
            o->push_back(1);
            co_await yield();
            co_await yield();
            o->push_back(3);
        }(&shard, &order);
    });
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Shard, CountsTurnsAndCompletions) {
    ShardCounters c{};
    run_on_shards(1, [&](Shard& shard) -> Task<void> {
        return [](Shard* s, ShardCounters* out) -> Task<void> {
            for (int i = 0; i < 100; i++) {
                EXPECT_EQ(co_await nop(), 0);
            }
            *out = s->counters();
        }(&shard, &c);
    });
    EXPECT_GE(c.cqes, 100u);
    EXPECT_GE(c.tasks_resumed, 100u);
}

}  // namespace
}  // namespace pylon::reactor
