// TCP client connections on the reactor: a non-blocking socket (IPv4 or IPv6, CLOEXEC,
// TCP_NODELAY by default) connected with an io_uring connect operation bounded by
// connect_timeout_ms, returned as a SocketStream. Connecting by name goes through the Resolver
// (numeric hosts skip it) and tries each address in turn. Errors name the peer as the caller
// wrote it: "127.0.0.1:11434: Connection refused", "relay.example.com:443: no connection within
// 5000 ms". Call on the shard that will own the stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/address.hpp"
#include "net/socket_stream.hpp"
#include "reactor/cancel.hpp"
#include "reactor/task.hpp"

namespace pylon::net {

class Resolver;

struct TcpOptions {
    std::int64_t connect_timeout_ms = 5000;  // per address tried
    bool nodelay = true;
    StreamOptions stream{};
    // Connect only to public addresses: a host that resolves to loopback, private or link-local
    // ones only (numeric shortcuts such as 127.1 included) is refused before any connect.
    bool public_only = false;
};

// (No class-type default arguments on coroutines here: g++ 12 mishandles them.)

// Connects to one address. `peer_name` (empty: the address) prefixes error messages.
reactor::Task<Result<std::unique_ptr<SocketStream>>> tcp_connect(Address address,
                                                                 TcpOptions options,
                                                                 std::string peer_name,
                                                                 reactor::CancelToken token = {});

// Connects to host:port; `resolver` may be null when host is numeric.
reactor::Task<Result<std::unique_ptr<SocketStream>>> tcp_connect(std::string host,
                                                                 std::uint16_t port,
                                                                 Resolver* resolver,
                                                                 TcpOptions options,
                                                                 reactor::CancelToken token = {});
inline reactor::Task<Result<std::unique_ptr<SocketStream>>> tcp_connect(std::string host,
                                                                        std::uint16_t port,
                                                                        Resolver* resolver) {
    return tcp_connect(std::move(host), port, resolver, TcpOptions{});
}

// "host:port", with brackets around an IPv6 literal.
std::string host_port_name(const std::string& host, std::uint16_t port);

}  // namespace pylon::net
