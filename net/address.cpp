#include "net/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
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

namespace {

bool ipv4_private(const std::uint8_t a[4]) noexcept {
    return a[0] == 127 || a[0] == 10 || a[0] == 0 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
           (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64);
}

}  // namespace

bool Address::is_private() const noexcept {
    if (family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
        return ipv4_private(reinterpret_cast<const std::uint8_t*>(&in->sin_addr));
    }
    if (family() != AF_INET6) {
        return false;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    const auto* v6 = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
    bool zero10 = std::all_of(v6, v6 + 10, [](std::uint8_t b) { return b == 0; });
    bool mapped = zero10 && v6[10] == 0xff && v6[11] == 0xff;
    bool loopback_or_unspecified = zero10 && v6[10] == 0 && v6[11] == 0 && v6[12] == 0 &&
                                   v6[13] == 0 && v6[14] == 0 && v6[15] <= 1;
    return loopback_or_unspecified || (v6[0] & 0xfe) == 0xfc ||
           (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80) || (mapped && ipv4_private(v6 + 12));
}

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
