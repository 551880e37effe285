// SocketStream: a ByteStream over one connected stream socket (TCP or Unix) on the current
// shard. Receiving is one multishot recv (reactor::RecvStream) whose provided buffers are copied
// into the stream's input buffer and returned to the ring at once. Sending is a bounded
// SendQueue drained by at most one sendmsg in flight (gathering up to send_iov_max chunks, short
// writes resumed), submitted as a raw completion, not a coroutine. A send is started at the end
// of the reactor turn that queued bytes, so everything written in one turn (a WebSocket frame
// header and its payload, many small messages) leaves in one sendmsg. A send that makes no progress
// for send_stall_timeout_ms fails the stream (a peer that stopped reading).
//
// Teardown (close()): shutdown(RDWR) -> cancel every operation on the fd -> wait for the recv
// and the send to complete -> close(fd). Owned by one shard; create and use it there; close() it
// before destroying it.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/byte_stream.hpp"
#include "net/send_queue.hpp"
#include "reactor/recv_stream.hpp"
#include "reactor/shard.hpp"
#include "reactor/sync.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::net {

struct StreamOptions {
    std::size_t send_queue_bytes_max = 1024 * 1024;
    std::int64_t send_stall_timeout_ms = 30000;   // no send progress for this long: failed
    std::size_t overshoot_bytes_max = 64 * 1024;  // see write_overshoot()
};

class SocketStream final : public ByteStream {
  public:
    static constexpr unsigned send_iov_max = 64;

    // Takes ownership of the connected socket `fd`.
    SocketStream(int fd, std::string peer_name, StreamOptions options = {});
    ~SocketStream() override;

    int fd() const noexcept { return fd_; }
    const std::string& peer_name() const noexcept override { return peer_; }
    std::uint64_t bytes_received() const noexcept { return bytes_received_; }
    std::uint64_t bytes_sent() const noexcept { return bytes_sent_; }
    std::size_t queued_bytes() const noexcept { return out_.size_bytes(); }

    reactor::Task<Result<Bytes>> read(std::int64_t timeout_ms = 0,
                                      reactor::CancelToken token = {}) override;
    Result<std::size_t> try_write(Bytes bytes) override;
    // Bytes try_write() would accept now.
    std::size_t write_room() const noexcept { return out_.room_bytes(); }
    // Queues all of `bytes` even beyond the queue bound, by at most overshoot_bytes_max in
    // total: for TlsStream, which must not hold back records it has already encrypted.
    Status write_overshoot(Bytes bytes);
    reactor::Task<Status> wait_writable(std::int64_t timeout_ms,
                                        reactor::CancelToken token) override;
    reactor::Task<Status> flush(std::int64_t timeout_ms, reactor::CancelToken token) override;
    reactor::Task<void> close() override;
    bool closed() const noexcept override { return closed_; }

    // False once the stream failed, is closing, or the peer closed its side (a pooled idle
    // connection the server dropped), and while received bytes wait unread: on a connection
    // between requests they belong to no request (a faulty or hostile server's stray response),
    // and the next request would read them as its own answer. True does not promise the next
    // request will succeed.
    bool maybe_reusable() const noexcept {
        return !failed_ && !closing_ && !closed_ && !recv_.finished() &&
               recv_.queued_chunks() == 0 && out_.empty();
    }
    // The error that ended the stream, if any.
    const std::optional<Error>& failure() const noexcept { return failed_; }

  private:
    struct SendOp final : reactor::Completion {
        explicit SendOp(SocketStream* s) : Completion(&SocketStream::on_send_done), self(s) {}
        SocketStream* self;
    };
    static void on_send_done(reactor::Completion* c, std::int32_t res, std::uint32_t flags);
    static void on_send_stall(reactor::TimerNode* node);
    void start_send();
    void kick_send();
    void fail(Error error);
    Error read_error(std::int32_t err, std::int64_t timeout_ms) const;
    reactor::Task<Status> wait_progress(std::int64_t timeout_ms, reactor::CancelToken token,
                                        bool want_empty);

    int fd_;
    std::string peer_;
    StreamOptions options_;
    reactor::Shard* shard_;
    reactor::RecvStream recv_;
    std::vector<std::uint8_t> in_;
    SendQueue out_;
    SendOp send_op_{this};
    reactor::TimerNode stall_timer_;
    iovec iov_[send_iov_max]{};
    msghdr msg_{};
    reactor::AsyncEvent progress_;  // set on each send completion and on failure
    std::optional<Error> failed_;
    std::uint64_t bytes_received_ = 0;
    std::uint64_t bytes_sent_ = 0;
    bool send_in_flight_ = false;
    bool send_stalled_ = false;
    bool kick_scheduled_ = false;  // a start_send is queued for the end of this loop turn
    bool closing_ = false;
    bool closed_ = false;
};

}  // namespace pylon::net
