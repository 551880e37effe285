#include "reactor/frame_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "reactor/task.hpp"

namespace pylon::reactor {
namespace {

Task<int> leaf(int v) {
    co_return v + 1;
}

Task<int> chain(int n) {
    int sum = 0;
    for (int i = 0; i < n; ++i) {
        sum += co_await leaf(i);
    }
    co_return sum;
}

int run_sync(Task<int> task) {
    int out = -1;
    auto runner = [](Task<int> t, int* o) -> DetachedFrame { *o = co_await std::move(t); };
    DetachedFrame f = runner(std::move(task), &out);
    f.handle.resume();
    return out;
}

TEST(FramePool, SteadyStateCoroutinesReuseFrames) {
    EXPECT_EQ(run_sync(chain(10)), 55);  // warm: every frame size seen once
    FramePoolStats before = FramePool::stats();
    EXPECT_EQ(run_sync(chain(1000)), 500500);
    FramePoolStats after = FramePool::stats();
    std::uint64_t frames = after.allocations - before.allocations;
    EXPECT_EQ(frames, 1002u);  // 1,000 leaves, the chain, the runner
    if (FramePool::enabled()) {
        EXPECT_EQ(after.reused - before.reused, frames);  // none from the global allocator
    } else {
        EXPECT_EQ(after.reused, 0u);
    }
}

TEST(FramePool, SameClassSharesFramesAndBigFramesBypass) {
    if (!FramePool::enabled()) {
        GTEST_SKIP() << "sanitizer build: frames are not cached";
    }
    void* a = FramePool::allocate(100);
    FramePool::release(a, 100);
    void* b = FramePool::allocate(120);  // same 64-byte class (65..128)
    EXPECT_EQ(a, b);
    FramePool::release(b, 120);
    FramePoolStats s = FramePool::stats();
    void* big = FramePool::allocate(frame_cached_bytes_max + 1);
    FramePool::release(big, frame_cached_bytes_max + 1);
    EXPECT_EQ(FramePool::stats().cached_bytes, s.cached_bytes);  // not kept
}

TEST(FramePool, CacheIsBoundedPerClassAndPerThread) {
    if (!FramePool::enabled()) {
        GTEST_SKIP() << "sanitizer build: frames are not cached";
    }
    std::thread([] {  // a fresh thread: an empty cache
        std::vector<void*> frames;
        for (std::size_t i = 0; i < frames_cached_per_class_max * 2; ++i) {
            frames.push_back(FramePool::allocate(64));
        }
        for (void* f : frames) {
            FramePool::release(f, 64);
        }
        EXPECT_EQ(FramePool::stats().cached_bytes, frames_cached_per_class_max * 64);
        frames.clear();
        for (std::size_t size = 64; size <= frame_cached_bytes_max; size += 64) {
            for (std::size_t i = 0; i < frames_cached_per_class_max; ++i) {
                frames.push_back(FramePool::allocate(size));
            }
        }
        std::size_t size = 64;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            FramePool::release(frames[i], size);
            if ((i + 1) % frames_cached_per_class_max == 0) {
                size += 64;
            }
        }
        EXPECT_LE(FramePool::stats().cached_bytes, frame_cache_bytes_max);
        EXPECT_GT(FramePool::stats().cached_bytes, frame_cache_bytes_max / 2);
    })
        .join();
}

TEST(FramePool, FrameFreedOnAnotherThreadIsSafe) {
    void* f = FramePool::allocate(200);
    std::size_t kept = 0;
    std::thread([f, &kept] {  // joins that thread's cache, freed when the thread exits
        std::size_t before = FramePool::stats().cached_bytes;
        FramePool::release(f, 200);
        kept = FramePool::stats().cached_bytes - before;
    })
        .join();
    EXPECT_EQ(kept, FramePool::enabled() ? 256u : 0u);  // class 193..256 bytes
}

}  // namespace
}  // namespace pylon::reactor
