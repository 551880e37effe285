// io_uring operations as awaitables. `co_await recv(fd, buf, len)` submits one SQE on the current
// shard and resumes with the raw result: bytes or a value >= 0, or -errno (results stay -errno
// inside the reactor; net/ turns them into Result). Options come last:
//   co_await recv(fd, buf, len, 0, {.timeout_ms = 5000, .token = token})
// A timeout or a cancellation submits ASYNC_CANCEL; the coroutine still resumes only at the
// operation's own completion (its buffers stay alive until then), with -ETIME for a timeout and
// -ECANCELED for a cancellation unless the operation finished first. An Op lives in the awaiting
// coroutine's frame and is neither copied nor moved once awaited. Current shard only.
#pragma once

#include <liburing.h>
#include <signal.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstdint>

#include "reactor/cancel.hpp"
#include "reactor/shard.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::reactor {

struct OpOptions {
    std::int64_t timeout_ms = 0;  // cancel if not complete within this time (0 = no limit)
    CancelToken token{};          // cancel when this token fires
};

class [[nodiscard]] Op : public Completion {
  public:
    Op(const io_uring_sqe& prototype, const OpOptions& options) noexcept;
    Op(const Op&) = delete;
    Op& operator=(const Op&) = delete;
    ~Op();

    bool await_ready() noexcept;
    void await_suspend(std::coroutine_handle<> h) noexcept;
    std::int32_t await_resume() const noexcept;

    std::uint32_t cqe_flags() const noexcept { return flags_; }

  private:
    static void on_complete(Completion* c, std::int32_t res, std::uint32_t flags);
    static void on_timer(TimerNode* node);
    static void on_cancel(CancelRegistration* reg);
    void request_cancel() noexcept;

    // The prepared SQE, copied into the ring at submission (raw bytes: io_uring_sqe has a
    // flexible array member that cannot be a class member under -Wpedantic).
    alignas(64) unsigned char sqe_[64];
    Shard* shard_ = nullptr;
    std::coroutine_handle<> waiter_;
    std::int32_t res_ = 0;
    std::uint32_t flags_ = 0;
    std::int64_t timeout_ms_ = 0;
    CancelToken token_;
    TimerNode timer_;
    CancelRegistration cancel_reg_;
    bool in_flight_ = false;
    bool timed_out_ = false;
    bool cancel_sent_ = false;
    bool cancelled_before_start_ = false;
};

// -- Operations (each returns an Op to co_await) --
Op nop(const OpOptions& options = {});
Op recv(int fd, void* buf, std::size_t len, int flags = 0, const OpOptions& options = {});
Op send(int fd, const void* buf, std::size_t len, int flags = MSG_NOSIGNAL,
        const OpOptions& options = {});
Op sendmsg(int fd, const msghdr* msg, unsigned flags = MSG_NOSIGNAL, const OpOptions& options = {});
Op recvmsg(int fd, msghdr* msg, unsigned flags = 0, const OpOptions& options = {});
Op read(int fd, void* buf, std::size_t len, std::uint64_t offset = static_cast<std::uint64_t>(-1),
        const OpOptions& options = {});
Op write(int fd, const void* buf, std::size_t len,
         std::uint64_t offset = static_cast<std::uint64_t>(-1), const OpOptions& options = {});
Op writev(int fd, const iovec* iov, unsigned count,
          std::uint64_t offset = static_cast<std::uint64_t>(-1), const OpOptions& options = {});
Op accept(int fd, sockaddr* addr, socklen_t* addrlen, int flags = SOCK_CLOEXEC,
          const OpOptions& options = {});
Op connect(int fd, const sockaddr* addr, socklen_t addrlen, const OpOptions& options = {});
Op close(int fd, const OpOptions& options = {});
Op shutdown(int fd, int how, const OpOptions& options = {});
Op poll(int fd, unsigned events, const OpOptions& options = {});
Op fsync(int fd, bool data_only = true, const OpOptions& options = {});
// waitid(P_PIDFD, pidfd, info, WEXITED) through IORING_OP_WAITID (kernel 6.7+).
Op waitid_pidfd(int pidfd, siginfo_t* info, int wait_options, const OpOptions& options = {});
// Cancels every operation on `fd` (CANCEL_FD | CANCEL_ALL); resumes with the count cancelled.
Op cancel_fd(int fd, const OpOptions& options = {});

// co_await sleep_ms(ms[, token]): true when the time passed, false if cancelled. Uses the timer
// wheel (no kernel timer per sleep).
class [[nodiscard]] SleepAwaiter {
  public:
    SleepAwaiter(std::int64_t ms, CancelToken token) noexcept;
    SleepAwaiter(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(const SleepAwaiter&) = delete;
    ~SleepAwaiter();
    bool await_ready() const noexcept { return token_.cancelled(); }
    void await_suspend(std::coroutine_handle<> h) noexcept;
    bool await_resume() const noexcept { return fired_; }

  private:
    static void on_timer(TimerNode* node);
    static void on_cancel(CancelRegistration* reg);

    std::int64_t ms_;
    CancelToken token_;
    Shard* shard_ = nullptr;
    std::coroutine_handle<> waiter_;
    TimerNode timer_;
    CancelRegistration cancel_reg_;
    bool fired_ = false;
};
inline SleepAwaiter sleep_ms(std::int64_t ms, CancelToken token = {}) {
    return SleepAwaiter(ms, token);
}

// co_await yield(): let other ready coroutines and I/O run first.
struct YieldAwaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { Shard::current().schedule(h); }
    void await_resume() const noexcept {}
};
inline YieldAwaiter yield() {
    return {};
}

}  // namespace pylon::reactor
