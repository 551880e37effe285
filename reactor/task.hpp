// Task<T>: the coroutine type of Pylon. A Task is lazy (it starts when awaited) and is awaited
// exactly once; its result is moved out to the awaiter. Completion transfers control straight
// back to the awaiting coroutine (symmetric transfer), so long synchronous chains never grow the
// stack. A Task belongs to the shard that runs it. Destroying a Task that started but did not
// finish is a bug (it would free a frame that in-flight I/O may still point into) and asserts.
// Rules (STYLE 16): coroutine parameters are taken by value; no capturing lambda coroutines;
// detached work goes through a Gate (reactor/gate.hpp) so shutdown can wait for it.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "reactor/assert.hpp"
#include "reactor/frame_pool.hpp"

namespace pylon::reactor {

template <typename T = void>
class Task;

namespace detail {

struct TaskPromiseBase {
    std::coroutine_handle<> continuation = std::noop_coroutine();
    bool started = false;

    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
            return h.promise().continuation;
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    FinalAwaiter final_suspend() const noexcept { return {}; }
    // Exceptions never cross the reactor (STYLE 9): one escaping a coroutine is a crash.
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }

    // Frames come from the thread's FramePool (reactor/frame_pool.hpp).
    static void* operator new(std::size_t bytes) { return FramePool::allocate(bytes); }
    static void operator delete(void* frame, std::size_t bytes) noexcept {
        FramePool::release(frame, bytes);
    }
};

template <typename T>
struct TaskPromise final : TaskPromiseBase {
    alignas(T) unsigned char storage[sizeof(T)];
    bool has_value = false;

    Task<T> get_return_object() noexcept;

    template <typename U>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(storage)) T(std::forward<U>(value));
        has_value = true;
    }
    T take() {
        PYLON_ASSERT(has_value);
        return std::move(*std::launder(reinterpret_cast<T*>(storage)));
    }
    ~TaskPromise() {
        if (has_value) {
            std::launder(reinterpret_cast<T*>(storage))->~T();
        }
    }
};

template <>
struct TaskPromise<void> final : TaskPromiseBase {
    Task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void take() const noexcept {}
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
  public:
    using promise_type = detail::TaskPromise<T>;
    using value_type = T;
    using Handle = std::coroutine_handle<promise_type>;

    Task() noexcept = default;
    explicit Task(Handle h) noexcept : h_(h) {}
    Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            destroy();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { destroy(); }

    bool valid() const noexcept { return static_cast<bool>(h_); }
    bool done() const noexcept { return h_ && h_.done(); }

    struct Awaiter {
        Handle h;
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            PYLON_ASSERT_MSG(!h.promise().started, "a Task is awaited once");
            h.promise().started = true;
            h.promise().continuation = awaiting;
            return h;
        }
        T await_resume() { return h.promise().take(); }
    };

    Awaiter operator co_await() && noexcept {
        PYLON_ASSERT(h_);
        return Awaiter{h_};
    }
    Awaiter operator co_await() & noexcept {
        PYLON_ASSERT(h_);
        return Awaiter{h_};
    }

    // For the reactor: hand the frame over (used by detached runners).
    Handle release() noexcept { return std::exchange(h_, {}); }

  private:
    void destroy() noexcept {
        if (h_) {
            PYLON_ASSERT_MSG(!h_.promise().started || h_.done(),
                             "a running Task was destroyed (its frame may own in-flight I/O)");
            h_.destroy();
            h_ = {};
        }
    }

    Handle h_;
};

namespace detail {
template <typename T>
inline Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

// A fire-and-forget coroutine frame that destroys itself when it finishes. Only the reactor
// (Gate, Shard::spawn) creates these; it starts suspended and is scheduled by its creator.
struct DetachedFrame {
    struct promise_type {
        DetachedFrame get_return_object() noexcept {
            return DetachedFrame{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
        static void* operator new(std::size_t bytes) { return FramePool::allocate(bytes); }
        static void operator delete(void* frame, std::size_t bytes) noexcept {
            FramePool::release(frame, bytes);
        }
    };
    std::coroutine_handle<promise_type> handle;
};

}  // namespace pylon::reactor
