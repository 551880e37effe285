#include "net/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

namespace pylon::net {

namespace {

constexpr std::size_t host_text_bytes_max = 64;

std::string_view strip_brackets(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        return host.substr(1, host.size() - 2);
    }
    return host;
}

}  // namespace

std::uint16_t Address::port() const noexcept {
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    }
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    }
    return 0;
}

std::optional<Address> Address::numeric(std::string_view host, std::uint16_t port) {
    std::string_view bare = strip_brackets(host);
    if (bare.empty() || bare.size() >= host_text_bytes_max) {
        return std::nullopt;
    }
    char text[host_text_bytes_max];
    std::memcpy(text, bare.data(), bare.size());
    text[bare.size()] = '\0';
    Address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    if (bare.size() == host.size() && ::inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (::inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    return std::nullopt;
}

std::optional<Address> Address::unix_path(std::string_view path) {
    Address a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
    if (path.empty() || path.size() >= sizeof(un->sun_path)) {
        return std::nullopt;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    un->sun_path[path.size()] = '\0';
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return a;
}

Address Address::from(const sockaddr* addr, socklen_t length) {
    Address a;
    std::size_t n = std::min<std::size_t>(length, sizeof(a.storage));
    std::memcpy(&a.storage, addr, n);
    a.length = static_cast<socklen_t>(n);
    return a;
}

std::string Address::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
                    sizeof text);
        return std::string(text) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text,
                    sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(port());
    }
    if (family() == AF_UNIX) {
        return std::string(reinterpret_cast<const sockaddr_un*>(&storage)->sun_path);
    }
    return "?";
}

bool is_numeric_host(std::string_view host) {
    return Address::numeric(host, 0).has_value();
}

}  // namespace pylon::net
