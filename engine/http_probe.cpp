#include "engine/http_probe.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include "reactor/clock.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

bool parse_port(std::string_view text, std::uint16_t& port) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value == 0 || value > 65535) {
        return false;
    }
    port = static_cast<std::uint16_t>(value);
    return true;
}

// The status code of "HTTP/1.x NNN ..." once the first line is complete: >0 code, 0 need
// more, -EPROTO malformed.
int status_of(std::string_view head) {
    std::size_t eol = head.find("\r\n");
    if (eol == std::string_view::npos) {
        return head.size() >= http_probe_response_bytes_max ? -EPROTO : 0;
    }
    std::string_view line = head.substr(0, eol);
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') {
        return -EPROTO;
    }
    int code = 0;
    auto [ptr, ec] = std::from_chars(line.data() + 9, line.data() + 12, code);
    if (ec != std::errc() || ptr != line.data() + 12 || code < 100 || code > 599) {
        return -EPROTO;
    }
    return code;
}

std::int64_t remaining_ms(std::int64_t deadline_ms) {
    std::int64_t left = deadline_ms - reactor::monotonic_ms();
    return left > 0 ? left : 1;
}

Task<int> exchange(int fd, const HttpProbeTarget* target, std::int64_t deadline_ms,
                   reactor::CancelToken token) {
    int res = co_await reactor::connect(fd, reinterpret_cast<const sockaddr*>(&target->addr),
                                        target->addr_len,
                                        {.timeout_ms = remaining_ms(deadline_ms), .token = token});
    if (res < 0) {
        co_return res;
    }
    std::string request = "GET " + target->path + " HTTP/1.1\r\nHost: " + target->host_header +
                          "\r\nUser-Agent: pylon-supervisor\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        res = co_await reactor::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL,
                                     {.timeout_ms = remaining_ms(deadline_ms), .token = token});
        if (res <= 0) {
            co_return res < 0 ? res : -EPIPE;
        }
        sent += static_cast<std::size_t>(res);
    }
    std::string head;
    char buf[1024];
    for (;;) {
        res = co_await reactor::recv(fd, buf, sizeof buf, 0,
                                     {.timeout_ms = remaining_ms(deadline_ms), .token = token});
        if (res <= 0) {
            co_return res < 0 ? res : -EPROTO;
        }
        head.append(buf, static_cast<std::size_t>(res));
        int code = status_of(head);
        if (code != 0) {
            co_return code;
        }
    }
}

}  // namespace

Result<HttpProbeTarget> parse_probe_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) {
        return Error(Errc::invalid_input,
                     "health URL must start with http://: " + std::string(url));
    }
    std::string_view rest = url.substr(scheme.size());
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    HttpProbeTarget t;
    t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    t.host_header = std::string(authority);
    std::string_view host = authority;
    std::uint16_t port = 80;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return Error(Errc::invalid_input, "bad IPv6 host in " + std::string(url));
        }
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() &&
            (authority[close + 1] != ':' || !parse_port(authority.substr(close + 2), port))) {
            return Error(Errc::invalid_input, "bad port in " + std::string(url));
        }
    } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        if (!parse_port(authority.substr(colon + 1), port)) {
            return Error(Errc::invalid_input, "bad port in " + std::string(url));
        }
    }
    std::string host_text = host == "localhost" ? "127.0.0.1" : std::string(host);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&t.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&t.addr);
    if (::inet_pton(AF_INET, host_text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        t.addr_len = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, host_text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        t.addr_len = sizeof(sockaddr_in6);
    } else {
        return Error(Errc::invalid_input,
                     "health URL host must be an IP address or localhost: " + std::string(url));
    }
    return t;
}

Task<int> http_probe_status(HttpProbeTarget target, std::int64_t timeout_ms,
                            reactor::CancelToken token) {
    int fd = ::socket(target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        co_return -errno;
    }
    std::int64_t deadline = reactor::monotonic_ms() + timeout_ms;
    int res = co_await exchange(fd, &target, deadline, token);
    co_await reactor::close(fd);
    co_return res;
}

}  // namespace pylon::engine
