#include "engine/relay_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace pylon::engine {

namespace {

// The host part of ws(s)://host[:port][/path], IPv6 without brackets.
std::string_view host_of(std::string_view url) {
    std::size_t scheme = url.find("://");
    std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    std::size_t end = rest.find_first_of("/?#");
    rest = rest.substr(0, end);
    if (!rest.empty() && rest.front() == '[') {
        std::size_t close = rest.find(']');
        return close == std::string_view::npos ? rest.substr(1) : rest.substr(1, close - 1);
    }
    return rest.substr(0, rest.rfind(':'));
}

bool ipv4_private(const std::uint8_t a[4]) {
    return a[0] == 127 || a[0] == 10 || a[0] == 0 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
           (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64);
}

}  // namespace

std::string normalize_relay_url(std::string_view url) {
    std::string out(url);
    std::size_t scheme = out.find("://");
    std::size_t host_end = scheme == std::string::npos ? 0 : out.find_first_of("/?#", scheme + 3);
    if (host_end == std::string::npos) {
        host_end = out.size();
    }
    std::transform(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(host_end), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (out.size() == host_end + 1 && out.back() == '/') {
        out.pop_back();
    }
    return out;
}

std::vector<std::string> configured_relays(const Config& config) {
    std::vector<std::string> out;
    for (const std::string& url : config.relays) {
        std::string n = normalize_relay_url(url);
        if (std::find(out.begin(), out.end(), n) == out.end()) {
            out.push_back(std::move(n));
        }
    }
    return out;
}

bool relay_host_is_private(std::string_view url) {
    std::string host(host_of(url));
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (host == "localhost" || host.ends_with(".localhost")) {
        return true;
    }
    std::uint8_t v4[4];
    if (::inet_pton(AF_INET, host.c_str(), v4) == 1) {
        return ipv4_private(v4);
    }
    std::uint8_t v6[16];
    if (::inet_pton(AF_INET6, host.c_str(), v6) == 1) {
        static const std::uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        bool mapped = std::all_of(v6, v6 + 10, [](std::uint8_t b) { return b == 0; }) &&
                      v6[10] == 0xff && v6[11] == 0xff;
        return std::memcmp(v6, loopback, 16) == 0 || (v6[0] & 0xfe) == 0xfc ||
               (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80) || (mapped && ipv4_private(v6 + 12)) ||
               std::all_of(v6, v6 + 16, [](std::uint8_t b) { return b == 0; });
    }
    return false;
}

}  // namespace pylon::engine
