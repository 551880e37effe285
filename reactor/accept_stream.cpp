#include "reactor/accept_stream.hpp"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace pylon::reactor {

AcceptStream::AcceptStream(int listen_fd, std::uint32_t backlog_max)
    : Completion(&AcceptStream::on_cqe_fn),
      listen_fd_(listen_fd),
      backlog_max_(backlog_max),
      shard_(&Shard::current()) {}

AcceptStream::~AcceptStream() {
    PYLON_ASSERT_MSG(!armed_, "AcceptStream destroyed while armed");
    while (!fds_.empty()) {
        ::close(fds_.pop());
    }
}

void AcceptStream::arm() {
    io_uring_sqe* sqe = shard_->get_sqe();
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    sqe->user_data = reinterpret_cast<std::uint64_t>(static_cast<Completion*>(this));
    armed_ = true;
    shard_->op_started();
}

void AcceptStream::on_cqe_fn(Completion* c, std::int32_t res, std::uint32_t flags) {
    auto* self = static_cast<AcceptStream*>(c);
    bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
        self->armed_ = false;
        self->shard_->op_finished();
    }
    if (res >= 0) {
        if (self->stopping_ || self->fds_.size() >= self->backlog_max_) {
            ::close(res);
            self->dropped_++;
        } else {
            self->fds_.push(res);
        }
        if (!more && !self->stopping_) {
            self->arm();
        }
    } else if (!self->stopping_) {
        if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM ||
            res == -ECONNABORTED || res == -EINTR) {
            // Transient: keep listening (the queued fds let the owner make progress).
            if (!more) {
                self->arm();
            }
        } else {
            self->error_ = res;
        }
    }
    self->wake_reader();
    if (!self->armed_ && self->stop_waiter_) {
        self->shard_->schedule(std::exchange(self->stop_waiter_, {}));
    }
}

void AcceptStream::wake_reader() {
    if (reader_ && (!fds_.empty() || error_ != 0 || stopping_)) {
        shard_->schedule(std::exchange(reader_, {}));
    }
}

bool AcceptStream::NextAwaiter::await_ready() noexcept {
    AcceptStream* s = stream;
    if (!s->fds_.empty() || s->error_ != 0 || s->stopping_) {
        return true;
    }
    if (!s->armed_) {
        s->arm();
    }
    return false;
}

void AcceptStream::NextAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    PYLON_ASSERT_MSG(!stream->reader_, "one reader per AcceptStream");
    stream->reader_ = h;
}

int AcceptStream::NextAwaiter::await_resume() noexcept {
    AcceptStream* s = stream;
    if (!s->fds_.empty()) {
        return s->fds_.pop();
    }
    if (s->stopping_) {
        return -ECANCELED;
    }
    return s->error_;
}

bool AcceptStream::StopAwaiter::await_ready() noexcept {
    AcceptStream* s = stream;
    s->stopping_ = true;
    while (!s->fds_.empty()) {
        ::close(s->fds_.pop());
    }
    s->wake_reader();
    if (!s->armed_) {
        return true;
    }
    s->shard_->cancel_op(s);
    return false;
}

void AcceptStream::StopAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    stream->stop_waiter_ = h;
}

}  // namespace pylon::reactor
