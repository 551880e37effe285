// Micro benchmarks of the reactor's building blocks: the cross-shard mailbox (SPSC queue across
// two threads), timer-wheel arm/cancel, provided-buffer get/put, and starting + awaiting a
// coroutine (its frame from the FramePool).
#include <benchmark/benchmark.h>
#include <liburing.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "reactor/buffer_ring.hpp"
#include "reactor/inline_fn.hpp"
#include "reactor/rng.hpp"
#include "reactor/spsc_queue.hpp"
#include "reactor/task.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::reactor {
namespace {

// One producer thread pushes Messages (InlineFn) through the SPSC queue, the benchmark thread
// pops and runs them. Items/s is the cross-thread message rate.
void BM_MailboxPushPopAcrossThreads(benchmark::State& state) {
    using Msg = InlineFn<48>;
    SpscQueue<Msg> q(1024);
    std::atomic<bool> stop{false};
    std::uint64_t ran = 0;
    std::thread producer([&] {
        std::uint64_t* counter = &ran;
        while (!stop.load(std::memory_order_relaxed)) {
            Msg m([counter]() { (*counter)++; });
            while (!q.try_push(m) && !stop.load(std::memory_order_relaxed)) {
            }
        }
    });
    Msg out;
    std::int64_t popped = 0;
    for (auto _ : state) {
        while (!q.try_pop(out)) {
        }
        out();
        popped++;
    }
    stop.store(true);
    producer.join();
    while (q.try_pop(out)) {
    }
    state.SetItemsProcessed(popped);
}
BENCHMARK(BM_MailboxPushPopAcrossThreads);

struct NopTimer {
    TimerNode node{[](TimerNode*) {}, nullptr};
};

// Arm then cancel one timer in a wheel that already holds `range(0)` timers.
void BM_TimerArmCancel(benchmark::State& state) {
    TimerWheel wheel(0);
    Rng rng(1);
    std::vector<std::unique_ptr<NopTimer>> background;
    for (std::int64_t i = 0; i < state.range(0); i++) {
        background.push_back(std::make_unique<NopTimer>());
        wheel.arm(&background.back()->node, 1 + static_cast<std::int64_t>(rng.below(600'000)));
    }
    NopTimer t;
    std::int64_t deadline = 1;
    for (auto _ : state) {
        wheel.arm(&t.node, deadline);
        wheel.cancel(&t.node);
        deadline = deadline % 100'000 + 997;
    }
    for (auto& b : background) {
        wheel.cancel(&b->node);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerArmCancel)->Arg(0)->Arg(10'000);

// Take a provided buffer as a CQE would hand it over, then give it back to the kernel ring.
void BM_BufferGetPut(benchmark::State& state) {
    io_uring ring{};
    if (io_uring_queue_init(8, &ring, 0) < 0) {
        state.SkipWithError("io_uring_queue_init failed");
        return;
    }
    BufferRingOptions opts;
    opts.buffer_count = 256;
    opts.buffer_count_initial = 256;  // the loop below cycles through all 256 bids
    auto br = BufferRing::create(&ring, opts);
    if (!br.ok()) {
        state.SkipWithError("buffer ring failed");
        io_uring_queue_exit(&ring);
        return;
    }
    std::unique_ptr<BufferRing> owner(br.value());
    std::uint32_t bid = 0;
    for (auto _ : state) {
        std::uint32_t flags = IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT);
        Buffer b = owner->take(flags, 64);
        benchmark::DoNotOptimize(b.data());
        b.reset();
        bid = (bid + 1) & 255;
    }
    state.SetItemsProcessed(state.iterations());
    owner.reset();
    io_uring_queue_exit(&ring);
}
BENCHMARK(BM_BufferGetPut);

Task<int> leaf(int v) {
    co_return v + 1;
}

Task<std::int64_t> await_leaves(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await leaf(static_cast<int>(i & 1023));
    }
    co_return sum;
}

// Creates, starts, awaits and destroys one coroutine per item (batches of 1,000 inside one
// outer coroutine): the cost a per-message coroutine (a stream's read()) adds.
void BM_TaskCreateAwait(benchmark::State& state) {
    constexpr std::int64_t batch = 1000;
    std::int64_t sum = 0;
    auto runner = [](Task<std::int64_t> t, std::int64_t* out) -> DetachedFrame {
        *out += co_await std::move(t);
    };
    for (auto _ : state) {
        DetachedFrame f = runner(await_leaves(batch), &sum);
        f.handle.resume();
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_TaskCreateAwait);

}  // namespace
}  // namespace pylon::reactor

BENCHMARK_MAIN();
