// AcceptStream: a multishot accept on a listening socket. One SQE keeps producing connected fds;
// the stream queues them (at most `backlog_max`; beyond that new connections are closed at once
// and counted, so a flood cannot grow memory) and hands them out with next(). Accepted fds are
// CLOEXEC. Lifetime as RecvStream: co_await stop() before destroying. Owned by one shard.
#pragma once

#include <coroutine>
#include <cstdint>

#include "reactor/ring_queue.hpp"
#include "reactor/shard.hpp"

namespace pylon::reactor {

class AcceptStream final : public Completion {
  public:
    explicit AcceptStream(int listen_fd, std::uint32_t backlog_max = 128);
    AcceptStream(const AcceptStream&) = delete;
    AcceptStream& operator=(const AcceptStream&) = delete;
    ~AcceptStream();

    std::uint64_t dropped() const noexcept { return dropped_; }

    struct NextAwaiter {
        AcceptStream* stream;
        bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> h) noexcept;
        // A connected fd (>= 0), or -errno: -ECANCELED after stop(), or the accept error.
        int await_resume() noexcept;
    };
    NextAwaiter next() noexcept { return NextAwaiter{this}; }

    struct StopAwaiter {
        AcceptStream* stream;
        bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> h) noexcept;
        void await_resume() const noexcept {}
    };
    // Cancels the multishot accept, closes queued fds, wakes a waiting next() with -ECANCELED,
    // and waits for the final completion.
    StopAwaiter stop() noexcept { return StopAwaiter{this}; }

  private:
    static void on_cqe_fn(Completion* c, std::int32_t res, std::uint32_t flags);
    void arm();
    void wake_reader();

    int listen_fd_;
    std::uint32_t backlog_max_;
    Shard* shard_;
    RingQueue<int> fds_{16};
    std::coroutine_handle<> reader_;
    std::coroutine_handle<> stop_waiter_;
    std::uint64_t dropped_ = 0;
    std::int32_t error_ = 0;
    bool armed_ = false;
    bool stopping_ = false;
};

}  // namespace pylon::reactor
