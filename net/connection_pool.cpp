#include "net/connection_pool.hpp"

#include "net/unix_socket.hpp"
#include "reactor/clock.hpp"

namespace pylon::net {

using reactor::Task;

std::string Endpoint::name() const {
    return unix_path.empty() ? host_port_name(host, port) : unix_path;
}

ConnectionPool::ConnectionPool(Endpoint endpoint, TcpOptions tcp, PoolOptions options,
                               Resolver* resolver)
    : endpoint_(std::move(endpoint)), tcp_(tcp), options_(options), resolver_(resolver) {}

ConnectionPool::~ConnectionPool() {
    PYLON_ASSERT_MSG(closed_ || (idle_.empty() && closers_.count() == 0),
                     "ConnectionPool destroyed without close()");
}

Task<void> ConnectionPool::close_in_background(std::unique_ptr<SocketStream> stream) {
    co_await stream->close();
}

void ConnectionPool::discard(std::unique_ptr<SocketStream> stream) {
    if (!stream) {
        return;
    }
    if (stream->closed()) {
        return;
    }
    bool started = closers_.spawn(close_in_background(std::move(stream)));
    PYLON_ASSERT_MSG(started, "ConnectionPool::discard after close()");
}

// idle_ is oldest first (release() appends, acquire() takes the newest), so the expired ones are
// a prefix: this costs O(expired), not a scan of every idle connection per request (with a
// backend's hundreds of slots that scan was ~1% of a shard's time). Connections the server closed
// meanwhile are dropped when acquire() meets them, when the pool is full, or when they expire.
void ConnectionPool::expire_idle() {
    std::int64_t now = reactor::monotonic_ms();
    std::size_t expired = 0;
    while (expired < idle_.size() && now - idle_[expired].since_ms >= options_.idle_timeout_ms) {
        discard(std::move(idle_[expired].stream));
        expired++;
    }
    idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(expired));
}

void ConnectionPool::release(std::unique_ptr<SocketStream> stream) {
    expire_idle();
    if (closed_ || !stream->maybe_reusable()) {
        discard(std::move(stream));
        return;
    }
    if (idle_.size() >= options_.idle_connections_max) {  // full: drop those the server closed
        std::erase_if(idle_, [this](Idle& i) {
            if (i.stream->maybe_reusable()) {
                return false;
            }
            discard(std::move(i.stream));
            return true;
        });
    }
    if (idle_.size() >= options_.idle_connections_max) {
        discard(std::move(stream));
        return;
    }
    idle_.push_back(Idle{std::move(stream), reactor::monotonic_ms()});
}

Task<Result<std::unique_ptr<SocketStream>>> ConnectionPool::acquire(bool* reused,
                                                                    reactor::CancelToken token) {
    *reused = false;
    if (closed_) {
        co_return Error(Errc::closed, endpoint_.name() + ": connection pool closed");
    }
    expire_idle();
    while (!idle_.empty()) {
        std::unique_ptr<SocketStream> s = std::move(idle_.back().stream);  // the warmest
        idle_.pop_back();
        if (!s->maybe_reusable()) {
            discard(std::move(s));
            continue;
        }
        reuses_++;
        *reused = true;
        co_return s;
    }
    connects_++;
    if (!endpoint_.unix_path.empty()) {
        co_return co_await unix_connect(endpoint_.unix_path, tcp_.connect_timeout_ms, tcp_.stream,
                                        token);
    }
    co_return co_await tcp_connect(endpoint_.host, endpoint_.port, resolver_, tcp_, token);
}

Task<void> ConnectionPool::close() {
    if (!closed_) {
        closed_ = true;
        for (Idle& i : idle_) {
            closers_.spawn(close_in_background(std::move(i.stream)));
        }
        idle_.clear();
    }
    co_await closers_.close();
}

}  // namespace pylon::net
