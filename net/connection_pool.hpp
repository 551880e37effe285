// ConnectionPool: the keep-alive connections of one backend on one shard. acquire() hands out an
// idle connection that is still open (the server may have closed it meanwhile; those are
// dropped) or connects a new one (TCP to host:port, or a Unix socket path); release() takes a
// connection back after a complete response, keeping at most idle_connections_max, each for at
// most idle_timeout_ms. discard() closes a connection in the background (it need not be
// awaited; close() waits for those). One shard; close() before destroying.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/socket_stream.hpp"
#include "net/tcp.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/task.hpp"

namespace pylon::net {

class Resolver;

struct Endpoint {
    std::string host;  // a name or numeric address; empty when unix_path is set
    std::uint16_t port = 0;
    std::string unix_path;
    std::string name() const;  // "127.0.0.1:11434" or the socket path
};

struct PoolOptions {
    std::size_t idle_connections_max = 4;
    std::int64_t idle_timeout_ms = 30000;
};

class ConnectionPool {
  public:
    ConnectionPool(Endpoint endpoint, TcpOptions tcp, PoolOptions options,
                   Resolver* resolver = nullptr);
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;
    ~ConnectionPool();

    const Endpoint& endpoint() const noexcept { return endpoint_; }
    std::size_t idle_count() const noexcept { return idle_.size(); }
    std::uint64_t connects() const noexcept { return connects_; }
    std::uint64_t reuses() const noexcept { return reuses_; }

    // An idle live connection, or a new one. `reused` tells which.
    reactor::Task<Result<std::unique_ptr<SocketStream>>> acquire(bool* reused,
                                                                 reactor::CancelToken token);
    // Takes back a connection that may carry another request.
    void release(std::unique_ptr<SocketStream> stream);
    // Closes a connection in the background.
    void discard(std::unique_ptr<SocketStream> stream);
    // Closes the idle connections and waits for every background close. Idempotent.
    reactor::Task<void> close();

  private:
    struct Idle {
        std::unique_ptr<SocketStream> stream;
        std::int64_t since_ms = 0;
    };
    static reactor::Task<void> close_in_background(std::unique_ptr<SocketStream> stream);
    void expire_idle();

    Endpoint endpoint_;
    TcpOptions tcp_;
    PoolOptions options_;
    Resolver* resolver_;
    std::vector<Idle> idle_;
    reactor::Gate closers_;
    std::uint64_t connects_ = 0;
    std::uint64_t reuses_ = 0;
    bool closed_ = false;
};

}  // namespace pylon::net
