// Address: one socket address (IPv4, IPv6 or a Unix path) as a value, with the parsing of numeric
// hosts ("127.0.0.1", "::1", "[::1]") and a printable form ("127.0.0.1:80", "[::1]:80").
// Names ("localhost", "relay.example.com") are not parsed here: the Resolver turns them into
// Addresses. Plain value, no thread affinity.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pylon::net {

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const noexcept { return storage.ss_family; }
    const sockaddr* sockaddr_ptr() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    std::uint16_t port() const noexcept;

    // A numeric IPv4 or IPv6 host (brackets allowed around IPv6) and a port; nullopt for names.
    static std::optional<Address> numeric(std::string_view host, std::uint16_t port);
    // A Unix stream socket path; nullopt when it does not fit sun_path.
    static std::optional<Address> unix_path(std::string_view path);
    // From a sockaddr (getaddrinfo, accept).
    static Address from(const sockaddr* addr, socklen_t length);

    // "1.2.3.4:80", "[::1]:80" or the Unix path.
    std::string to_string() const;
    // Loopback, private (RFC 1918, fc00::/7), link-local, carrier-grade NAT (100.64/10),
    // unspecified, or an IPv4-mapped one of those: not a public Internet host.
    bool is_private() const noexcept;
};

// True when `host` is a numeric IPv4/IPv6 literal (the resolver is then not needed).
bool is_numeric_host(std::string_view host);

}  // namespace pylon::net
