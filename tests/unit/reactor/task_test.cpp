#include "reactor/task.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "reactor/sanitizer.hpp"
#include "run_on_shards.hpp"

namespace pylon::reactor {
namespace {

// Drives a task that completes without suspending on I/O.
template <typename T>
T run_sync(Task<T> task) {
    std::optional<T> out;
    auto runner = [](Task<T> t, std::optional<T>* o) -> DetachedFrame {
        o->emplace(co_await std::move(t));
    };
    DetachedFrame f = runner(std::move(task), &out);
    f.handle.resume();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
}

Task<int> answer(int* started) {
    (*started)++;
    co_return 42;
}

TEST(Task, IsLazyAndReturnsItsValue) {
    int started = 0;
    Task<int> t = answer(&started);
    EXPECT_EQ(started, 0);  // nothing runs until awaited
    EXPECT_EQ(run_sync(std::move(t)), 42);
    EXPECT_EQ(started, 1);
}

TEST(Task, UnstartedTaskCanBeDestroyed) {
    int started = 0;
    { Task<int> t = answer(&started); }
    EXPECT_EQ(started, 0);
}

Task<std::unique_ptr<int>> make_owned(int v) {
    co_return std::make_unique<int>(v);
}

TEST(Task, MovesMoveOnlyResults) {
    auto p = run_sync(make_owned(7));
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 7);
}

Task<int> depth(int n) {
    if (n == 0) {
        co_return 0;
    }
    int below = co_await depth(n - 1);
    co_return below + 1;
}

// Sanitizer builds turn off sibling-call optimisation, so symmetric transfer can no longer be
// a tail call there and every level costs a frame: the depth is only stack-flat in optimised builds.
#if PYLON_UNDER_SANITIZER
constexpr int kDeepChain = 2'000;
#else
constexpr int kDeepChain = 200'000;
#endif

TEST(Task, DeepSynchronousChainsDoNotGrowTheStack) {
    // Nested awaits completing synchronously: symmetric transfer keeps the stack flat.
    EXPECT_EQ(run_sync(depth(kDeepChain)), kDeepChain);
}

Task<void> never_finishes(std::coroutine_handle<>* parked) {
    struct Park {
        std::coroutine_handle<>* slot;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) const noexcept { *slot = h; }
        void await_resume() const noexcept {}
    };
    co_await Park{parked};
}

TEST(TaskDeathTest, DestroyingARunningTaskAsserts) {
    EXPECT_DEATH(
        {
            std::coroutine_handle<> parked;
            auto t = std::make_unique<Task<void>>(never_finishes(&parked));
            auto runner = [](Task<void>* task) -> DetachedFrame { co_await *task; };
            DetachedFrame f = runner(t.get());
            f.handle.resume();
            t.reset();  // frame is suspended mid-way: must assert
        },
        "a running Task was destroyed");
}

Task<void> tick(int* counter, std::int64_t ms) {
    co_await sleep_ms(ms);
    (*counter)++;
}

TEST(Gate, CloseWaitsForSpawnedTasksAndRefusesNewOnes) {
    int done = 0;
    bool refused = false;
    bool closed_after_all = false;
    testing::run_on_shard([&]() -> Task<void> {
        return [](int* d, bool* r, bool* c) -> Task<void> {
            Gate gate;
            for (int i = 0; i < 10; i++) {
                EXPECT_TRUE(gate.spawn(tick(d, 5 + i)));
            }
            EXPECT_EQ(gate.count(), 10u);
            co_await gate.close();
            *c = (*d == 10);
            *r = !gate.spawn(tick(d, 1));
        }(&done, &refused, &closed_after_all);
    });
    EXPECT_EQ(done, 10);
    EXPECT_TRUE(closed_after_all);
    EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace pylon::reactor
