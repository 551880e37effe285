// Gate: the owner of detached work on one shard. spawn() starts a Task that nobody awaits and
// counts it; close() refuses new work and waits until every spawned task has finished, so
// shutdown can stop intake, cancel what is running, and then know that nothing still touches
// the objects it is about to destroy. A Gate must be closed (and the close awaited) before it is
// destroyed. One shard only.
#pragma once

#include <coroutine>
#include <cstdint>

#include "reactor/shard.hpp"
#include "reactor/task.hpp"

namespace pylon::reactor {

class Gate {
  public:
    Gate() = default;
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;
    ~Gate() { PYLON_ASSERT_MSG(count_ == 0, "Gate destroyed with tasks still running"); }

    // Starts `task` on the current shard on a later turn. False (task not started and dropped)
    // once the gate is closed.
    bool spawn(Task<void> task);

    std::uint64_t count() const noexcept { return count_; }
    bool closed() const noexcept { return closed_; }

    struct CloseAwaiter {
        Gate* gate;
        bool await_ready() noexcept {
            gate->closed_ = true;
            return gate->count_ == 0;
        }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            PYLON_ASSERT_MSG(!gate->closer_, "Gate closed twice concurrently");
            gate->closer_ = h;
        }
        void await_resume() const noexcept {}
    };
    // Refuses new tasks and resumes when the last running one has finished.
    CloseAwaiter close() noexcept { return CloseAwaiter{this}; }

  private:
    static DetachedFrame run(Gate* gate, Task<void> task);
    void leave() noexcept;

    std::uint64_t count_ = 0;
    bool closed_ = false;
    std::coroutine_handle<> closer_;
};

inline DetachedFrame Gate::run(Gate* gate, Task<void> task) {
    co_await std::move(task);
    gate->leave();
}

inline bool Gate::spawn(Task<void> task) {
    if (closed_) {
        return false;
    }
    count_++;
    Shard::current().schedule(run(this, std::move(task)).handle);
    return true;
}

inline void Gate::leave() noexcept {
    PYLON_ASSERT(count_ > 0);
    count_--;
    if (count_ == 0 && closer_) {
        Shard::current().schedule(std::exchange(closer_, {}));
    }
}

}  // namespace pylon::reactor
