#include "reactor/mailbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"
#include "reactor/sync.hpp"
#include "run_on_shards.hpp"

namespace pylon::reactor {
namespace {

using testing::run_on_shards;

TEST(ShardSet, SubmitToPingPongAcrossShards) {
    constexpr int rounds = 20'000;
    int total = 0;
    unsigned seen_on = 99;
    run_on_shards(2, [&](Shard& shard) -> Task<void> {
        if (shard.id() != 0) {
            return []() -> Task<void> { co_return; }();
        }
        return [](int* out, unsigned* where) -> Task<void> {
            int sum = 0;
            for (int i = 0; i < rounds; i++) {
                sum += co_await submit_to(1, [i]() { return i % 7; });
            }
            *where = co_await submit_to(1, []() { return Shard::current().id(); });
            *out = sum;
        }(&total, &seen_on);
    });
    int expected = 0;
    for (int i = 0; i < rounds; i++) {
        expected += i % 7;
    }
    EXPECT_EQ(total, expected);
    EXPECT_EQ(seen_on, 1u);
}

TEST(ShardSet, SubmitToAwaitsATaskOnTheTarget) {
    int result = 0;
    run_on_shards(2, [&](Shard& shard) -> Task<void> {
        if (shard.id() != 0) {
            return []() -> Task<void> { co_return; }();
        }
        return [](int* out) -> Task<void> {
            *out = co_await submit_to(1, []() -> Task<int> {
                co_await sleep_ms(5);
                co_return static_cast<int>(Shard::current().id()) + 41;
            });
        }(&result);
    });
    EXPECT_EQ(result, 42);
}

// A tiny mailbox (capacity 4) and 10k messages: the sender is suspended while it is full, and
// every message arrives exactly once and in order.
TEST(ShardSet, FullMailboxAppliesBackpressureWithoutLoss) {
    constexpr int n = 10'000;
    std::vector<int> received;  // owned by shard 1
    std::uint64_t full_events = 0;
    ShardSetOptions options;
    options.mailbox_capacity = 4;
    run_on_shards(
        2,
        [&](Shard& shard) -> Task<void> {
            if (shard.id() == 1) {
                return [](std::vector<int>* r) -> Task<void> {
                    // Stay busy-ish so the sender outruns us.
                    while (r->size() < static_cast<std::size_t>(n)) {
                        co_await sleep_ms(1);
                    }
                }(&received);
            }
            return [](std::vector<int>* r, std::uint64_t* full) -> Task<void> {
                for (int i = 0; i < n; i++) {
                    co_await send_to(1, Message([r, i]() { r->push_back(i); }));
                }
                *full = Shard::current().counters().mailbox_full;
            }(&received, &full_events);
        },
        options);
    ASSERT_EQ(received.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(received[static_cast<std::size_t>(i)], i);
    }
    EXPECT_GT(full_events, 0u);
}

// A plain thread (like the store or resolver thread) posts to a sleeping shard.
TEST(ShardSet, ForeignThreadWakesASleepingShard) {
    std::atomic<Shard*> target{nullptr};
    int got = 0;
    std::thread poster;
    run_on_shards(1, [&](Shard& shard) -> Task<void> {
        target.store(&shard);
        return [](int* g, std::thread* t, std::atomic<Shard*>* tgt) -> Task<void> {
            AsyncEvent done;
            AsyncEvent* ev = &done;
            *t = std::thread([tgt, g, ev] {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                tgt->load()->post_foreign(Message([g, ev]() {
                    *g = 7;
                    ev->set();
                }));
            });
            EXPECT_TRUE(co_await done.wait());
        }(&got, &poster, &target);
    });
    poster.join();
    EXPECT_EQ(got, 7);
}

}  // namespace
}  // namespace pylon::reactor
