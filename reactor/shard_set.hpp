// ShardSet: the N shards of the process and the N x (N-1) mailboxes between them. run() starts
// shards 1..N-1 on their own threads (each pinned to a CPU and creating its own ring, as
// SINGLE_ISSUER requires) and runs shard 0 on the calling thread, then returns when every shard
// has finished. A shard finishes when its main task and everything it spawned are done and every
// other shard's main task is done too, so late messages between shards are still served.
//
// Messaging from code running on a shard: try_post (fire and forget, fails when the mailbox is
// full), send_to (waits for room: backpressure), submit_to (runs a function on another shard
// and resumes with its result). Messages are moved, never shared.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "reactor/mailbox.hpp"
#include "reactor/result.hpp"
#include "reactor/shard.hpp"
#include "reactor/task.hpp"

namespace pylon::reactor {

struct ShardSetOptions {
    unsigned shard_count = 0;  // 0 = the CPUs this process may run on
    std::vector<int> cpus;     // CPU per shard (shard i -> cpus[i % size]); empty = allowed set
    bool pin = true;           // pin each shard thread to its CPU
    ShardOptions shard{};
    std::size_t mailbox_capacity = 1024;  // messages per shard pair (power of two)
};

// The CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> allowed_cpus();

class ShardSet {
  public:
    using MainFn = std::function<Task<void>(Shard&)>;

    explicit ShardSet(ShardSetOptions options);
    ShardSet(const ShardSet&) = delete;
    ShardSet& operator=(const ShardSet&) = delete;
    ~ShardSet();

    unsigned size() const noexcept { return count_; }
    // Valid while run() is running.
    Shard& shard(unsigned index) noexcept;
    Mailbox& mailbox(unsigned from, unsigned to) noexcept;
    const ShardSetOptions& options() const noexcept { return options_; }

    // Blocks until every shard has finished. Fails (before running anything) if a ring could not
    // be created, naming the shard and the reason.
    Status run(MainFn main);

    // True once every shard's main task has returned (used by the shard loops).
    bool all_mains_done() const noexcept {
        return mains_done_.load(std::memory_order_acquire) == count_;
    }
    // Called by each shard when its main task returns; the last one wakes every shard so they
    // can notice that the whole set is finishing.
    void note_main_done(Shard* from) noexcept;

  private:
    void thread_body(unsigned index, MainFn* main);

    ShardSetOptions options_;
    unsigned count_;
    std::vector<int> cpus_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::vector<std::unique_ptr<Mailbox>> mailboxes_;  // [from * count_ + to]
    std::vector<Status> start_status_;
    std::atomic<unsigned> mains_done_{0};
    std::atomic<bool> start_failed_{false};
    struct Barrier;
    std::unique_ptr<Barrier> barrier_;
};

// -- Messaging from the current shard --

// Runs `msg` on shard `target` later. False (msg untouched) if the mailbox is full.
bool try_post(unsigned target, Message& msg);
// Runs `msg` on `target` later, holding it in order if the mailbox is full (never fails; use
// only where the number of held messages is bounded by design, e.g. replies).
void post(unsigned target, Message msg);

// co_await send_to(target, msg): delivers `msg`, suspending while the mailbox is full.
class SendAwaiter {
  public:
    SendAwaiter(unsigned target, Message msg) : target_(target), msg_(std::move(msg)) {}
    bool await_ready();
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

  private:
    unsigned target_;
    Message msg_;
};
inline SendAwaiter send_to(unsigned target, Message msg) {
    return SendAwaiter(target, std::move(msg));
}

namespace detail {

template <typename T>
struct IsTask : std::false_type {
    using result = T;  // what co_await-ing the call yields
};
template <typename T>
struct IsTask<Task<T>> : std::true_type {
    using result = T;
};

template <typename F, typename R>
struct SubmitState {
    explicit SubmitState(F f) : fn(std::move(f)) {}
    F fn;
    std::optional<R> result;
    Shard* caller = nullptr;
    std::coroutine_handle<> waiter;
};
template <typename F>
struct SubmitState<F, void> {
    explicit SubmitState(F f) : fn(std::move(f)) {}
    F fn;
    Shard* caller = nullptr;
    std::coroutine_handle<> waiter;
};

template <typename State>
void submit_reply(State* st) {
    post(st->caller->id(), Message([st]() { st->caller->schedule(st->waiter); }));
}

template <typename State>
DetachedFrame submit_run_task(State* st) {
    using R = typename IsTask<std::invoke_result_t<decltype(st->fn)&>>::result;
    if constexpr (std::is_void_v<R>) {
        co_await st->fn();
    } else {
        st->result.emplace(co_await st->fn());
    }
    submit_reply(st);
}

template <typename State>
void submit_run(State* st) {
    using Ret = std::invoke_result_t<decltype(st->fn)&>;
    if constexpr (IsTask<Ret>::value) {
        Shard::current().schedule(submit_run_task(st).handle);
    } else {
        if constexpr (std::is_void_v<Ret>) {
            st->fn();
        } else {
            st->result.emplace(st->fn());
        }
        submit_reply(st);
    }
}

template <typename State>
struct SubmitAwaiter {
    State* st;
    unsigned target;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        st->caller = &Shard::current();
        st->waiter = h;
        State* s = st;
        post(target, Message([s]() { submit_run(s); }));
    }
    void await_resume() const noexcept {}
};

template <typename F>
using SubmitResult = typename IsTask<std::invoke_result_t<F&>>::result;

}  // namespace detail

// Runs `fn` on shard `target` and resumes the caller (on its own shard) with the result. `fn`
// may return a value, void, or a Task (awaited on the target). `fn` and its captures are touched
// by the target thread while the caller waits; the result is moved back.
template <typename F>
Task<detail::SubmitResult<F>> submit_to(unsigned target, F fn) {
    using R = detail::SubmitResult<F>;
    using Ret = std::invoke_result_t<F&>;
    if (target == Shard::current().id()) {
        if constexpr (detail::IsTask<Ret>::value) {
            co_return co_await fn();
        } else {
            co_return fn();
        }
    }
    detail::SubmitState<F, R> state(std::move(fn));
    co_await detail::SubmitAwaiter<detail::SubmitState<F, R>>{&state, target};
    if constexpr (!std::is_void_v<R>) {
        co_return std::move(*state.result);
    }
}

}  // namespace pylon::reactor
