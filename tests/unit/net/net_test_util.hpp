// Helpers for the net/ socket tests: loopback listeners made with plain syscalls, and a runner
// that executes one coroutine on a fresh single-shard set.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>

#include "reactor/task.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::net::testutil {

struct Listener {
    int fd = -1;
    std::uint16_t port = 0;
    ~Listener() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

// A TCP listener on 127.0.0.1 (or ::1) port 0; fd -1 when the family is unavailable.
inline void listen_loopback(Listener& l, int family = AF_INET, int backlog = 16) {
    l.fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l.fd < 0) {
        return;
    }
    int one = 1;
    ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(sockaddr_in);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(sockaddr_in6);
    }
    if (::bind(l.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(l.fd, backlog) != 0) {
        ::close(l.fd);
        l.fd = -1;
        return;
    }
    ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&ss), &len);
    l.port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                               : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// One HTTP request head read from a blocking socket (up to its blank line, no body): "" when
// the peer closed or 5 s passed without it.
inline std::string read_request_head(int fd) {
    std::string in;
    for (int i = 0; i < 500 && in.find("\r\n\r\n") == std::string::npos; i++) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10) <= 0) {
            continue;
        }
        char buf[1024];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return "";
        }
        in.append(buf, static_cast<std::size_t>(n));
    }
    return in.find("\r\n\r\n") == std::string::npos ? "" : in;
}

inline std::string pattern(std::size_t n, std::size_t seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i++) {
        s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return s;
}

inline void run(std::function<reactor::Task<void>()> main) {
    reactor::testing::run_on_shard(std::move(main));
}

}  // namespace pylon::net::testutil
