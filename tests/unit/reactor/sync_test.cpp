#include "reactor/sync.hpp"

#include <gtest/gtest.h>

#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "run_on_shards.hpp"

namespace pylon::reactor {
namespace {

using testing::run_on_shards;

TEST(AsyncSemaphore, BoundsConcurrencyAndServesWaitersInOrder) {
    std::vector<int> order;
    int max_inside = 0;
    run_on_shards(1, [&](Shard&) -> Task<void> {
        return [](std::vector<int>* o, int* peak) -> Task<void> {
            AsyncSemaphore sem(2);
            int inside = 0;
            Gate gate;
            for (int i = 0; i < 6; i++) {
                gate.spawn([](AsyncSemaphore* s, int id, int* in, int* pk,
                              std::vector<int>* out) -> Task<void> {
                    EXPECT_TRUE(co_await s->acquire());
                    (*in)++;
                    *pk = std::max(*pk, *in);
                    out->push_back(id);
                    co_await sleep_ms(5);
                    (*in)--;
                    s->release();
                }(&sem, i, &inside, peak, o));
            }
            co_await gate.close();
            EXPECT_EQ(sem.available(), 2u);
        }(&order, &max_inside);
    });
    EXPECT_EQ(max_inside, 2);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(AsyncSemaphore, CancelledWaiterLeavesTheQueue) {
    run_on_shards(1, [&](Shard&) -> Task<void> {
        return []() -> Task<void> {
            AsyncSemaphore sem(0);
            CancelSource source;
            Shard::current().spawn([](CancelSource* s) -> Task<void> {
                co_await sleep_ms(5);
                s->cancel();
            }(&source));
            EXPECT_FALSE(co_await sem.acquire(source.token()));
            EXPECT_FALSE(sem.has_waiters());
            sem.release();
            EXPECT_EQ(sem.available(), 1u);
        }();
    });
}

TEST(AsyncQueue, BoundedPushWaitsAndCloseDrains) {
    std::vector<int> got;
    run_on_shards(1, [&](Shard&) -> Task<void> {
        return [](std::vector<int>* out) -> Task<void> {
            AsyncQueue<int> q(2);
            Gate gate;
            gate.spawn([](AsyncQueue<int>* qq) -> Task<void> {
                for (int i = 0; i < 10; i++) {
                    EXPECT_TRUE(co_await qq->push(i));
                    EXPECT_LE(qq->size(), 2u);
                }
                qq->close();
            }(&q));
            for (;;) {
                std::optional<int> v = co_await q.pop();
                if (!v) {
                    break;
                }
                out->push_back(*v);
                co_await sleep_ms(1);
            }
            co_await gate.close();
            int x = 5;
            EXPECT_FALSE(q.try_push(x));  // closed
        }(&got);
    });
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(AsyncEvent, WakesAllWaiters) {
    int woke = 0;
    run_on_shards(1, [&](Shard&) -> Task<void> {
        return [](int* w) -> Task<void> {
            AsyncEvent ev;
            Gate gate;
            for (int i = 0; i < 3; i++) {
                gate.spawn([](AsyncEvent* e, int* count) -> Task<void> {
                    EXPECT_TRUE(co_await e->wait());
                    (*count)++;
                }(&ev, w));
            }
            co_await sleep_ms(2);
            EXPECT_EQ(*w, 0);
            ev.set();
            co_await gate.close();
        }(&woke);
    });
    EXPECT_EQ(woke, 3);
}

}  // namespace
}  // namespace pylon::reactor
