// WebSocket URL parsing (RFC 6455 section 3): ws:// and wss:// only, a host (a name, an IPv4
// address or a bracketed IPv6 address), an optional port (default 80/443), a path and a query
// (together the request target, "/" when absent). No user info and no fragment. Bounded by
// url_bytes_max; anything else is an Errc::invalid_input with the reason. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::net {

struct Url {
    static constexpr std::size_t url_bytes_max = 2048;
    static constexpr std::size_t host_bytes_max = 253;

    bool secure = false;  // wss://
    std::string host;     // lowercase; an IPv6 address without its brackets
    std::uint16_t port = 0;
    std::string target = "/";  // path and "?query"

    // "host" or "host:port" (port omitted when default; IPv6 in brackets): the Host header.
    std::string host_header() const;
    // "host:port" (IPv6 in brackets): the name used in error messages.
    std::string endpoint_name() const;
};

Result<Url> parse_ws_url(std::string_view text);

}  // namespace pylon::net
