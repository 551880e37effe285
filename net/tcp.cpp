#include "net/tcp.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/resolver.hpp"
#include "reactor/ops.hpp"

namespace pylon::net {

using reactor::Task;

std::string host_port_name(const std::string& host, std::uint16_t port) {
    bool v6 = host.find(':') != std::string::npos && host.front() != '[';
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

Error connect_error(std::int32_t res, const std::string& peer, std::int64_t timeout_ms) {
    if (res == -ETIME) {
        return Error(Errc::timeout,
                     peer + ": no connection within " + std::to_string(timeout_ms) + " ms");
    }
    if (res == -ECANCELED) {
        return Error(Errc::cancelled, peer + ": connect cancelled");
    }
    return Error::from_errno(-res, peer);
}

}  // namespace

Task<Result<std::unique_ptr<SocketStream>>> tcp_connect(Address address, TcpOptions options,
                                                        std::string peer_name,
                                                        reactor::CancelToken token) {
    if (peer_name.empty()) {
        peer_name = address.to_string();
    }
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        co_return Error::from_errno(errno, peer_name + ": socket");
    }
    if (options.nodelay) {
        int one = 1;
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    std::int32_t res =
        co_await reactor::connect(fd, address.sockaddr_ptr(), address.length,
                                  {.timeout_ms = options.connect_timeout_ms, .token = token});
    if (res < 0) {
        (void)co_await reactor::close(fd);
        co_return connect_error(res, peer_name, options.connect_timeout_ms);
    }
    co_return std::make_unique<SocketStream>(fd, std::move(peer_name), options.stream);
}

Task<Result<std::unique_ptr<SocketStream>>> tcp_connect(std::string host, std::uint16_t port,
                                                        Resolver* resolver, TcpOptions options,
                                                        reactor::CancelToken token) {
    std::string peer = host_port_name(host, port);
    std::vector<Address> addresses;
    if (auto numeric = Address::numeric(host, port)) {
        addresses.push_back(*numeric);
    } else if (resolver == nullptr) {
        co_return Error(Errc::dns, peer + ": a name needs a resolver");
    } else {
        Result<std::vector<Address>> found = co_await resolver->resolve(host, port, token);
        if (!found.ok()) {
            co_return std::move(found).error();
        }
        addresses = std::move(found).value();
    }
    if (options.public_only) {
        std::erase_if(addresses, [](const Address& a) { return a.is_private(); });
        if (addresses.empty()) {
            co_return Error(Errc::refused,
                            peer + ": a loopback or private address, not allowed here");
        }
    }
    std::optional<Error> last;
    for (const Address& a : addresses) {
        Result<std::unique_ptr<SocketStream>> s = co_await tcp_connect(a, options, peer, token);
        if (s.ok() || s.error().code() == Errc::cancelled) {
            co_return s;
        }
        last = std::move(s).error();
    }
    co_return std::move(*last);
}

}  // namespace pylon::net
