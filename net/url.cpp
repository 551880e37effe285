#include "net/url.hpp"

#include "net/address.hpp"

namespace pylon::net {

namespace {

Error bad(std::string_view text, const char* why) {
    std::string shown(text.substr(0, 200));
    return Error(Errc::invalid_input, "URL '" + shown + "': " + why);
}

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

}  // namespace

std::string Url::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    bool default_port = port == (secure ? 443 : 80);
    return default_port ? h : h + ":" + std::to_string(port);
}

std::string Url::endpoint_name() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

Result<Url> parse_ws_url(std::string_view text) {
    if (text.size() > Url::url_bytes_max) {
        return bad(text, "longer than 2048 bytes");
    }
    Url url;
    std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) {
        return bad(text, "no scheme (expected ws:// or wss://)");
    }
    std::string scheme;
    for (char c : text.substr(0, sep)) {
        scheme.push_back(lower(c));
    }
    if (scheme == "wss") {
        url.secure = true;
    } else if (scheme != "ws") {
        return bad(text, "scheme is not ws or wss");
    }
    std::string_view rest = text.substr(sep + 3);
    std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (authority.find('@') != std::string_view::npos) {
        return bad(text, "user info is not allowed");
    }
    std::string_view host;
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return bad(text, "unclosed '[' in the host");
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            return bad(text, "junk after the IPv6 address");
        }
        port_text = after.empty() ? after : after.substr(1);
        if (!Address::numeric(host, 0) || host.find(':') == std::string_view::npos) {
            return bad(text, "not an IPv6 address in brackets");
        }
        url.host = std::string(host);
    } else {
        std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) {
                return bad(text, "empty port");
            }
        }
        if (host.empty() || host.size() > Url::host_bytes_max) {
            return bad(text, "empty or too long host");
        }
        for (char c : host) {
            if (!is_host_char(lower(c))) {
                return bad(text, "invalid character in the host");
            }
            url.host.push_back(lower(c));
        }
    }
    if (!port_text.empty()) {
        if (port_text.size() > 5 ||
            port_text.find_first_not_of("0123456789") != std::string::npos) {
            return bad(text, "port is not a number");
        }
        unsigned long p = std::stoul(std::string(port_text));
        if (p == 0 || p > 65535) {
            return bad(text, "port out of range");
        }
        url.port = static_cast<std::uint16_t>(p);
    } else {
        url.port = url.secure ? 443 : 80;
    }
    if (!tail.empty() && tail.front() == '#') {
        return bad(text, "fragments are not allowed");
    }
    if (tail.find('#') != std::string_view::npos) {
        return bad(text, "fragments are not allowed");
    }
    for (char c : tail) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            return bad(text, "space or non-ASCII byte in the path");
        }
    }
    if (tail.empty()) {
        url.target = "/";
    } else if (tail.front() == '?') {
        url.target = "/" + std::string(tail);
    } else {
        url.target = std::string(tail);
    }
    return url;
}

}  // namespace pylon::net
