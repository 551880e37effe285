#include "reactor/recv_stream.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "reactor/clock.hpp"

namespace pylon::reactor {

RecvStream::RecvStream(int fd)
    : Completion(&RecvStream::on_cqe_fn),
      fd_(fd),
      shard_(&Shard::current()),
      ring_(&shard_->recv_buffers()),
      rearm_(&RecvStream::on_buffers, this),
      queued_chunks_max_(std::max<std::size_t>(2, ring_->buffer_count() / 16)),
      spill_backlog_(std::max<std::size_t>(2, queued_chunks_max_ / 4)) {}

RecvStream::~RecvStream() {
    PYLON_ASSERT_MSG(!armed_, "RecvStream destroyed while its multishot receive is armed");
    PYLON_ASSERT(reader_ == nullptr);
    ring_->cancel_wait(&rearm_);
}

void RecvStream::start() {
    if (started_ || finished_) {
        return;
    }
    started_ = true;
    arm();
}

void RecvStream::arm() {
    PYLON_ASSERT(!armed_);
    io_uring_sqe* sqe = shard_->get_sqe();
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = ring_->group_id();
    sqe->user_data = reinterpret_cast<std::uint64_t>(static_cast<Completion*>(this));
    armed_ = true;
    shard_->op_started();
}

void RecvStream::on_buffers(RearmWaiter* w) {
    auto* self = static_cast<RecvStream*>(w->context);
    if (self->may_arm() && !self->armed_) {
        self->rearms_++;
        self->arm();
    }
}

void RecvStream::on_cqe_fn(Completion* c, std::int32_t res, std::uint32_t flags) {
    auto* self = static_cast<RecvStream*>(c);
    bool more = (flags & IORING_CQE_F_MORE) != 0;
    bool pause_cancelled = false;  // this final CQE answers the pause's cancel
    if (!more) {
        self->armed_ = false;
        self->shard_->op_finished();
        pause_cancelled = std::exchange(self->pause_cancel_sent_, false);
    }
    if (res > 0) {
        Buffer buf = self->ring_->take(flags, res);
        if (!self->stopping_) {
            self->chunks_.push(RecvChunk{std::move(buf), 0, false});
            if (more) {
                self->pause_if_full();
            }
            if (self->chunks_.size() >= self->spill_backlog_) {
                self->spill_if_short();
            }
        }
        bool running = !self->stopping_ && !self->finished_ && !self->peer_closed_;
        if (more && (flags & IORING_CQE_F_SOCK_NONEMPTY) == 0 && running &&
            self->drained_after_peer_shutdown()) {
            // The kernel will not report this end (see peer_closed_): end the receive ourselves.
            self->peer_closed_ = true;
            self->shard_->cancel_op(self);
        }
        if (!more && self->may_arm()) {
            self->arm();  // the kernel ended the multishot without an error: keep going
        }
    } else {
        if ((flags & IORING_CQE_F_BUFFER) != 0) {
            (void)self->ring_->take(flags, 0);  // not expected without data; never leak it
        }
        if (res == 0) {
            self->finish(0, true);
        } else if (res == -ENOBUFS) {
            // Flow control: the ring ran dry. Data stays in the socket; re-arm when buffers
            // return.
            if (!more && self->may_arm()) {
                self->ring_->wait_for_buffers(&self->rearm_);
            }
        } else if (res == -ECANCELED && (self->stopping_ || self->peer_closed_)) {
            // our own stop(), or the cancel after the peer's shutdown was seen
        } else if (res == -ECANCELED && pause_cancelled && !self->finished_) {
            // The pause's cancel. If the reader drained the queue before it landed, go on.
            if (!more && self->may_arm()) {
                self->arm();
            }
        } else {
            self->finish(res, false);
        }
    }
    if (!self->armed_ && self->peer_closed_ && !self->stopping_) {
        // After the final CQE, so that the stream may be destroyed at EOF.
        self->finish(self->peer_error_, self->peer_error_ == 0);
    }
    self->deliver();
    if (!self->armed_ && self->stop_waiter_) {
        self->shard_->schedule(std::exchange(self->stop_waiter_, {}));
    }
}

bool RecvStream::drained_after_peer_shutdown() noexcept {
    if (unix_stream_ < 0) {
        int domain = 0;
        int type = 0;
        socklen_t len = sizeof domain;
        bool is_unix =
            ::getsockopt(fd_, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
        len = sizeof type;
        unix_stream_ = is_unix && ::getsockopt(fd_, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
                               type == SOCK_STREAM
                           ? 1
                           : 0;
    }
    if (unix_stream_ == 0) {
        return false;
    }
    // Empty and shut down by the peer: a peek returns 0 (data: > 0; still open: EAGAIN). A
    // pending socket error (ECONNRESET) comes before EOF, and the peek consumes it: keep it.
    char byte = 0;
    ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return true;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        peer_error_ = -errno;
        return true;
    }
    return false;
}

void RecvStream::finish(std::int32_t error, bool eof) {
    if (finished_) {
        return;
    }
    finished_ = true;
    final_error_ = error;
    final_eof_ = eof;
    ring_->cancel_wait(&rearm_);
    if (armed_) {
        shard_->cancel_op(this);
    }
}

void RecvStream::pause_if_full() noexcept {
    if (!paused_ && armed_ && chunks_.size() >= queued_chunks_max_ && !finished_ && !peer_closed_) {
        paused_ = true;
        pauses_++;
        pause_cancel_sent_ = true;
        shard_->cancel_op(this);
    }
}

void RecvStream::spill_if_short() {
    // On every chunk queued behind a backlog: the cheap tests first (the ring is seldom short,
    // and what others hold is at most what is held), the walk over the queue only then.
    std::size_t threshold = std::max<std::size_t>(ring_->buffer_count() / 4, queued_chunks_max_);
    if (ring_->held() < threshold || !ring_->may_spill(0)) {
        return;
    }
    std::size_t own = 0;
    std::size_t own_bytes = 0;
    for (std::size_t i = 0; i < chunks_.size(); i++) {
        const Buffer& b = chunks_[i].buffer;
        if (b.in_ring()) {
            own++;
            own_bytes += b.size();
        }
    }
    std::size_t others = ring_->held() - own;
    if (own == 0 || others < threshold || !ring_->may_spill(own_bytes)) {
        return;
    }
    for (std::size_t i = 0; i < chunks_.size(); i++) {
        Buffer& b = chunks_[i].buffer;
        if (b.in_ring()) {
            b = Buffer::copied_out(std::move(b));
        }
    }
    spilled_chunks_ += own;
}

void RecvStream::resume_if_drained() noexcept {
    if (!paused_ || chunks_.size() > queued_chunks_max_ / 2) {
        return;
    }
    paused_ = false;
    if (!armed_ && may_arm()) {
        arm();  // else the cancel is still on its way: its final CQE re-arms
    }
}

void RecvStream::deliver() {
    if (reader_ != nullptr && (!chunks_.empty() || finished_ || stopping_)) {
        reader_->wake(0);
    }
}

RecvStream::NextAwaiter::NextAwaiter(RecvStream* stream, std::int64_t timeout_ms,
                                     CancelToken token) noexcept
    : stream_(stream),
      timeout_ms_(timeout_ms),
      token_(token),
      timer_(&NextAwaiter::on_timer, this),
      cancel_reg_(&NextAwaiter::on_cancel, this) {}

RecvStream::NextAwaiter::~NextAwaiter() {
    PYLON_ASSERT(!timer_.armed() && cancel_reg_.source == nullptr);
}

bool RecvStream::NextAwaiter::await_ready() noexcept {
    RecvStream* s = stream_;
    if (!s->chunks_.empty() || s->finished_ || s->stopping_) {
        return true;
    }
    if (token_.cancelled()) {
        wake_error_ = -ECANCELED;
        return true;
    }
    s->start();
    return false;
}

void RecvStream::NextAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    PYLON_ASSERT_MSG(stream_->reader_ == nullptr, "one reader per RecvStream");
    waiter_ = h;
    stream_->reader_ = this;
    if (timeout_ms_ > 0) {
        stream_->shard_->timers().arm(&timer_, monotonic_ms() + timeout_ms_);
    }
    token_.add(&cancel_reg_);
}

void RecvStream::NextAwaiter::wake(std::int32_t error) noexcept {
    wake_error_ = error;
    stream_->reader_ = nullptr;
    stream_->shard_->timers().cancel(&timer_);
    CancelToken::remove(&cancel_reg_);
    stream_->shard_->schedule(waiter_);
}

void RecvStream::NextAwaiter::on_timer(TimerNode* node) {
    static_cast<NextAwaiter*>(node->context)->wake(-ETIME);
}

void RecvStream::NextAwaiter::on_cancel(CancelRegistration* reg) {
    static_cast<NextAwaiter*>(reg->context)->wake(-ECANCELED);
}

RecvChunk RecvStream::NextAwaiter::await_resume() noexcept {
    RecvStream* s = stream_;
    if (!s->chunks_.empty()) {
        RecvChunk chunk = s->chunks_.pop();
        s->resume_if_drained();
        return chunk;
    }
    if (s->finished_) {
        return RecvChunk{Buffer{}, s->final_error_, s->final_eof_};
    }
    if (s->stopping_) {
        return RecvChunk{Buffer{}, -ECANCELED, false};
    }
    return RecvChunk{Buffer{}, wake_error_, false};
}

bool RecvStream::StopAwaiter::await_ready() noexcept {
    RecvStream* s = stream;
    s->stopping_ = true;
    s->ring_->cancel_wait(&s->rearm_);
    while (!s->chunks_.empty()) {
        s->chunks_.pop();  // returns the buffers
    }
    if (s->reader_ != nullptr) {
        s->reader_->wake(-ECANCELED);
    }
    if (!s->armed_) {
        return true;
    }
    s->shard_->cancel_op(s);
    return false;
}

void RecvStream::StopAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    stream->stop_waiter_ = h;
}

}  // namespace pylon::reactor
