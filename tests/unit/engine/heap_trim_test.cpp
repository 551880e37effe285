#include "engine/heap_trim.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <thread>

namespace pylon::engine {
namespace {

TEST(IdleTrim, TrimsOnceAfterIdleTicksThatFollowWork) {
    IdleTrim t(2);
    EXPECT_FALSE(t.tick(false)) << "nothing happened yet";
    EXPECT_FALSE(t.tick(false));
    t.worked();
    EXPECT_FALSE(t.tick(false)) << "one idle tick is not enough";
    EXPECT_TRUE(t.tick(false));
    EXPECT_FALSE(t.tick(false)) << "once per idle spell";
    EXPECT_FALSE(t.tick(false));
}

TEST(IdleTrim, ABusyTickIsWorkAndRestartsTheCount) {
    IdleTrim t(2);
    EXPECT_FALSE(t.tick(true));
    EXPECT_FALSE(t.tick(false));
    EXPECT_FALSE(t.tick(true)) << "busy again: the idle count starts over";
    EXPECT_FALSE(t.tick(false));
    EXPECT_TRUE(t.tick(false));
}

std::atomic<int> g_trims{0};
std::atomic<bool> g_on_caller{false};
thread_local bool t_caller = false;

TEST(HeapTrim, RunsTheRegisteredTrimOnTheCallingThreadAndReadsTheResidentSet) {
    g_trims = 0;
    g_on_caller = false;
    set_heap_trim(nullptr);
    EXPECT_FALSE(trim_thread_heap().ran) << "nothing registered: nothing runs";
    set_heap_trim([]() {
        g_trims++;
        g_on_caller = t_caller;
    });
    std::thread other([]() {
        t_caller = true;
        HeapTrimReport r = trim_thread_heap();
        EXPECT_TRUE(r.ran);
        EXPECT_GT(r.rss_before, 0u);
        EXPECT_GT(r.rss_after, 0u);
    });
    other.join();
    set_heap_trim(nullptr);
    EXPECT_EQ(g_trims.load(), 1);
    EXPECT_TRUE(g_on_caller.load()) << "a heap is per thread: the trim runs where it was asked";
}

}  // namespace
}  // namespace pylon::engine
