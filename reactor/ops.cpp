#include "reactor/ops.hpp"

#include <sys/wait.h>
#include <cerrno>
#include <cstring>

#include "reactor/clock.hpp"
#include "reactor/uring_shims.hpp"

namespace pylon::reactor {

Op::Op(const io_uring_sqe& prototype, const OpOptions& options) noexcept
    : Completion(&Op::on_complete),
      timeout_ms_(options.timeout_ms),
      token_(options.token),
      timer_(&Op::on_timer, this),
      cancel_reg_(&Op::on_cancel, this) {
    static_assert(sizeof(io_uring_sqe) == sizeof sqe_, "SQE128 rings are not used");
    std::memcpy(sqe_, &prototype, sizeof sqe_);
}

Op::~Op() {
    PYLON_ASSERT_MSG(!in_flight_, "Op destroyed while in flight");
}

bool Op::await_ready() noexcept {
    if (token_.cancelled()) {
        cancelled_before_start_ = true;
        res_ = -ECANCELED;
        return true;
    }
    return false;
}

void Op::await_suspend(std::coroutine_handle<> h) noexcept {
    shard_ = &Shard::current();
    waiter_ = h;
    io_uring_sqe* sqe = shard_->get_sqe();
    std::memcpy(static_cast<void*>(sqe), sqe_, sizeof sqe_);
    sqe->user_data = reinterpret_cast<std::uint64_t>(static_cast<Completion*>(this));
    in_flight_ = true;
    shard_->op_started();
    if (timeout_ms_ > 0) {
        shard_->timers().arm(&timer_, monotonic_ms() + timeout_ms_);
    }
    if (token_.can_cancel()) {
        token_.add(&cancel_reg_);
    }
}

std::int32_t Op::await_resume() const noexcept {
    if (res_ == -ECANCELED && timed_out_) {
        return -ETIME;
    }
    return res_;
}

void Op::on_complete(Completion* c, std::int32_t res, std::uint32_t flags) {
    auto* op = static_cast<Op*>(c);
    PYLON_ASSERT(op->in_flight_);
    op->res_ = res;
    op->flags_ = flags;
    op->in_flight_ = false;
    op->shard_->op_finished();
    op->shard_->timers().cancel(&op->timer_);
    CancelToken::remove(&op->cancel_reg_);
    op->shard_->schedule(op->waiter_);
}

void Op::request_cancel() noexcept {
    if (in_flight_ && !cancel_sent_) {
        cancel_sent_ = true;
        shard_->cancel_op(this);
    }
}

void Op::on_timer(TimerNode* node) {
    auto* op = static_cast<Op*>(node->context);
    op->timed_out_ = true;
    op->request_cancel();
}

void Op::on_cancel(CancelRegistration* reg) {
    static_cast<Op*>(reg->context)->request_cancel();
}

namespace {
io_uring_sqe blank() {
    io_uring_sqe s;
    std::memset(&s, 0, sizeof s);
    return s;
}
}  // namespace

Op nop(const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_nop(&s);
    return Op(s, options);
}

Op recv(int fd, void* buf, std::size_t len, int flags, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_recv(&s, fd, buf, len, flags);
    return Op(s, options);
}

Op send(int fd, const void* buf, std::size_t len, int flags, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_send(&s, fd, buf, len, flags);
    return Op(s, options);
}

Op sendmsg(int fd, const msghdr* msg, unsigned flags, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_sendmsg(&s, fd, msg, flags);
    return Op(s, options);
}

Op recvmsg(int fd, msghdr* msg, unsigned flags, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_recvmsg(&s, fd, msg, flags);
    return Op(s, options);
}

Op read(int fd, void* buf, std::size_t len, std::uint64_t offset, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_read(&s, fd, buf, static_cast<unsigned>(len), offset);
    return Op(s, options);
}

Op write(int fd, const void* buf, std::size_t len, std::uint64_t offset, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_write(&s, fd, buf, static_cast<unsigned>(len), offset);
    return Op(s, options);
}

Op writev(int fd, const iovec* iov, unsigned count, std::uint64_t offset,
          const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_writev(&s, fd, iov, count, offset);
    return Op(s, options);
}

Op accept(int fd, sockaddr* addr, socklen_t* addrlen, int flags, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_accept(&s, fd, addr, addrlen, flags);
    return Op(s, options);
}

Op connect(int fd, const sockaddr* addr, socklen_t addrlen, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_connect(&s, fd, addr, addrlen);
    return Op(s, options);
}

Op close(int fd, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_close(&s, fd);
    return Op(s, options);
}

Op shutdown(int fd, int how, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_shutdown(&s, fd, how);
    return Op(s, options);
}

Op poll(int fd, unsigned events, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_poll_add(&s, fd, events);
    return Op(s, options);
}

Op fsync(int fd, bool data_only, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_fsync(&s, fd, data_only ? IORING_FSYNC_DATASYNC : 0);
    return Op(s, options);
}

Op waitid_pidfd(int pidfd, siginfo_t* info, int wait_options, const OpOptions& options) {
    io_uring_sqe s = blank();
    uring::prep_waitid(&s, P_PIDFD, static_cast<id_t>(pidfd), info, wait_options);
    return Op(s, options);
}

Op cancel_fd(int fd, const OpOptions& options) {
    io_uring_sqe s = blank();
    io_uring_prep_cancel_fd(&s, fd, IORING_ASYNC_CANCEL_ALL);
    return Op(s, options);
}

SleepAwaiter::SleepAwaiter(std::int64_t ms, CancelToken token) noexcept
    : ms_(ms),
      token_(token),
      timer_(&SleepAwaiter::on_timer, this),
      cancel_reg_(&SleepAwaiter::on_cancel, this) {}

SleepAwaiter::~SleepAwaiter() {
    PYLON_ASSERT(!timer_.armed() && cancel_reg_.source == nullptr);
}

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    shard_ = &Shard::current();
    waiter_ = h;
    shard_->timers().arm(&timer_, monotonic_ms() + (ms_ > 0 ? ms_ : 0));
    token_.add(&cancel_reg_);
}

void SleepAwaiter::on_timer(TimerNode* node) {
    auto* self = static_cast<SleepAwaiter*>(node->context);
    self->fired_ = true;
    CancelToken::remove(&self->cancel_reg_);
    self->shard_->schedule(self->waiter_);
}

void SleepAwaiter::on_cancel(CancelRegistration* reg) {
    auto* self = static_cast<SleepAwaiter*>(reg->context);
    self->shard_->timers().cancel(&self->timer_);
    self->shard_->schedule(self->waiter_);
}

}  // namespace pylon::reactor
