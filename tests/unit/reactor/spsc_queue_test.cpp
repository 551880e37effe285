#include "reactor/spsc_queue.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "reactor/inline_fn.hpp"

namespace pylon::reactor {
namespace {

TEST(SpscQueue, BoundedFifo) {
    SpscQueue<int> q(4);
    for (int i = 0; i < 4; i++) {
        int v = i;
        ASSERT_TRUE(q.try_push(v));
    }
    int extra = 99;
    EXPECT_FALSE(q.try_push(extra));
    EXPECT_EQ(extra, 99);  // untouched on failure
    EXPECT_TRUE(q.full_for_producer());
    int out = -1;
    for (int i = 0; i < 4; i++) {
        ASSERT_TRUE(q.try_pop(out));
        EXPECT_EQ(out, i);
    }
    EXPECT_FALSE(q.try_pop(out));
    EXPECT_TRUE(q.empty_approx());
}

TEST(SpscQueue, TwoThreadsMoveAMillionInOrder) {
    SpscQueue<std::uint64_t> q(1024);
    constexpr std::uint64_t n = 1'000'000;
    std::thread producer([&q] {
        for (std::uint64_t i = 0; i < n;) {
            std::uint64_t v = i;
            if (q.try_push(v)) {
                i++;
            }
        }
    });
    std::uint64_t expected = 0;
    std::uint64_t v = 0;
    while (expected < n) {
        if (q.try_pop(v)) {
            ASSERT_EQ(v, expected);
            expected++;
        }
    }
    producer.join();
}

TEST(InlineFn, MovesAndRunsWithoutHeap) {
    int hits = 0;
    InlineFn<48> f([&hits] { hits++; });
    InlineFn<48> g = std::move(f);
    EXPECT_FALSE(static_cast<bool>(f));
    g();
    g();
    EXPECT_EQ(hits, 2);
    g.reset();
    EXPECT_FALSE(static_cast<bool>(g));
}

}  // namespace
}  // namespace pylon::reactor
