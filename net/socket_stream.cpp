#include "net/socket_stream.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "net/deadline.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"

namespace pylon::net {

using reactor::CancelToken;
using reactor::Task;

SocketStream::SocketStream(int fd, std::string peer_name, StreamOptions options)
    : fd_(fd),
      peer_(std::move(peer_name)),
      options_(options),
      shard_(&reactor::Shard::current()),
      recv_(fd),
      out_(options.send_queue_bytes_max, options.overshoot_bytes_max),
      stall_timer_(&SocketStream::on_send_stall, this) {
    PYLON_ASSERT(fd >= 0);
    // in_ is not reserved: it grows to the largest chunk this stream receives (a backend's
    // stream of small lines never needs a whole receive buffer's 4 KB per connection).
}

SocketStream::~SocketStream() {
    PYLON_ASSERT_MSG(closed_, "SocketStream destroyed without close()");
}

Error SocketStream::read_error(std::int32_t err, std::int64_t timeout_ms) const {
    if (err == -ETIME) {
        return Error(Errc::timeout,
                     peer_ + ": no data within " + std::to_string(timeout_ms) + " ms");
    }
    if (err == -ECANCELED) {
        return Error(closing_ ? Errc::closed : Errc::cancelled,
                     peer_ + (closing_ ? ": closed" : ": read cancelled"));
    }
    return Error::from_errno(-err, peer_);
}

Task<Result<Bytes>> SocketStream::read(std::int64_t timeout_ms, CancelToken token) {
    if (closing_ || closed_) {
        co_return Error(Errc::closed, peer_ + ": closed");
    }
    reactor::RecvChunk chunk = co_await recv_.next(timeout_ms, token);
    if (closing_) {
        co_return Error(Errc::closed, peer_ + ": closed");
    }
    if (chunk.eof) {
        co_return Bytes{};
    }
    if (chunk.error != 0) {
        co_return read_error(chunk.error, timeout_ms);
    }
    // Copy out and give the provided buffer back to the ring at once. in_ grows in powers of two
    // (from 256 bytes), so chunks of slowly rising sizes do not reallocate it each time.
    if (in_.capacity() < chunk.buffer.size()) {
        in_.reserve(std::bit_ceil(std::max<std::size_t>(chunk.buffer.size(), 256)));
    }
    in_.assign(chunk.buffer.data(), chunk.buffer.data() + chunk.buffer.size());
    chunk.buffer.reset();
    bytes_received_ += in_.size();
    co_return Bytes(in_.data(), in_.size());
}

Result<std::size_t> SocketStream::try_write(Bytes bytes) {
    if (failed_) {
        return *failed_;
    }
    if (closing_ || closed_) {
        return Error(Errc::closed, peer_ + ": closed");
    }
    std::size_t n = out_.append(bytes);
    if (n > 0) {
        kick_send();
    }
    return n;
}

Status SocketStream::write_overshoot(Bytes bytes) {
    if (failed_) {
        return *failed_;
    }
    if (closing_ || closed_) {
        return Error(Errc::closed, peer_ + ": closed");
    }
    if (!out_.append_overshoot(bytes)) {
        return Error(Errc::too_large, peer_ + ": send queue overshoot bound exceeded");
    }
    if (!bytes.empty()) {
        kick_send();
    }
    return Ok{};
}

void SocketStream::kick_send() {
    if (send_in_flight_ || kick_scheduled_) {
        return;
    }
    kick_scheduled_ = true;
    shard_->schedule_message([this]() {
        kick_scheduled_ = false;
        if (!send_in_flight_ && !out_.empty() && !closing_ && !failed_) {
            start_send();
        }
    });
}

void SocketStream::start_send() {
    PYLON_ASSERT(!send_in_flight_ && !out_.empty());
    unsigned count = out_.gather(iov_, send_iov_max);
    std::memset(&msg_, 0, sizeof msg_);
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = count;
    io_uring_sqe* sqe = shard_->get_sqe();
    io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
    sqe->user_data = reinterpret_cast<std::uint64_t>(static_cast<reactor::Completion*>(&send_op_));
    send_in_flight_ = true;
    send_stalled_ = false;
    shard_->op_started();
    if (options_.send_stall_timeout_ms > 0) {
        shard_->timers().arm(&stall_timer_,
                             reactor::monotonic_ms() + options_.send_stall_timeout_ms);
    }
}

void SocketStream::on_send_stall(reactor::TimerNode* node) {
    auto* self = static_cast<SocketStream*>(node->context);
    if (self->send_in_flight_) {
        self->send_stalled_ = true;
        self->shard_->cancel_op(&self->send_op_);
    }
}

void SocketStream::on_send_done(reactor::Completion* c, std::int32_t res, std::uint32_t) {
    SocketStream* self = static_cast<SendOp*>(c)->self;
    self->send_in_flight_ = false;
    self->shard_->op_finished();
    self->shard_->timers().cancel(&self->stall_timer_);
    if (res > 0) {
        self->out_.consume(static_cast<std::size_t>(res));
        self->bytes_sent_ += static_cast<std::uint64_t>(res);
        if (!self->out_.empty() && !self->closing_ && !self->failed_) {
            self->start_send();
        }
    } else if (res == -ECANCELED && self->send_stalled_) {
        self->fail(Error(Errc::timeout, self->peer_ + ": no send progress within " +
                                            std::to_string(self->options_.send_stall_timeout_ms) +
                                            " ms"));
    } else if (res == -ECANCELED && self->closing_) {
        self->fail(Error(Errc::closed, self->peer_ + ": closed"));
    } else if (res < 0) {
        self->fail(Error::from_errno(-res, self->peer_));
    }
    self->progress_.set();
}

void SocketStream::fail(Error error) {
    if (!failed_) {
        failed_ = std::move(error);
    }
    out_.clear();
    progress_.set();
}

Task<Status> SocketStream::wait_progress(std::int64_t timeout_ms, CancelToken token,
                                         bool want_empty) {
    Deadline deadline(timeout_ms, token);
    for (;;) {
        if (failed_) {
            co_return *failed_;
        }
        if (closing_ || closed_) {
            co_return Error(Errc::closed, peer_ + ": closed");
        }
        bool done = want_empty ? (out_.empty() && !send_in_flight_) : out_.room_bytes() > 0;
        if (done) {
            co_return Ok{};
        }
        progress_.reset();
        bool woke = co_await progress_.wait(deadline.token());
        // Not woken but not fired either: another waiter (a WebSocket's reader and writer both
        // wait for room) resumed first and reset the event; look again.
        if (!woke && deadline.fired()) {
            if (deadline.expired()) {
                co_return Error(Errc::timeout, peer_ + ": send not done within " +
                                                   std::to_string(timeout_ms) + " ms");
            }
            co_return Error(Errc::cancelled, peer_ + ": send cancelled");
        }
    }
}

Task<Status> SocketStream::wait_writable(std::int64_t timeout_ms, CancelToken token) {
    return wait_progress(timeout_ms, token, false);
}

Task<Status> SocketStream::flush(std::int64_t timeout_ms, CancelToken token) {
    return wait_progress(timeout_ms, token, true);
}

Task<void> SocketStream::close() {
    if (closing_ || closed_) {
        co_return;
    }
    closing_ = true;
    progress_.set();  // wake writers: they now see closing_
    (void)co_await reactor::shutdown(fd_, SHUT_RDWR);
    (void)co_await reactor::cancel_fd(fd_);
    co_await recv_.stop();
    while (send_in_flight_) {
        progress_.reset();
        (void)co_await progress_.wait();
    }
    while (kick_scheduled_) {
        co_await reactor::yield();  // the queued start_send holds `this`
    }
    out_.clear();
    (void)co_await reactor::close(fd_);
    fd_ = -1;
    closed_ = true;
}

}  // namespace pylon::net
