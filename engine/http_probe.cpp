#include "engine/http_probe.hpp"

#include <charconv>
#include <memory>

#include "net/address.hpp"
#include "net/http_client.hpp"

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
    std::string_view host = authority;
    std::uint16_t port = 80;
    std::size_t colon = authority.rfind(':');
    std::size_t bracket = authority.rfind(']');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        host = authority.substr(0, colon);
        if (!parse_port(authority.substr(colon + 1), port)) {
            return Error(Errc::invalid_input, "bad port in " + std::string(url));
        }
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    std::string numeric = host == "localhost" ? "127.0.0.1" : std::string(host);
    if (!net::is_numeric_host(numeric)) {
        return Error(Errc::invalid_input,
                     "health URL host must be an IP address or localhost: " + std::string(url));
    }
    t.endpoint.host = std::move(numeric);
    t.endpoint.port = port;
    return t;
}

Task<Result<int>> http_probe_status(HttpProbeTarget target, std::int64_t timeout_ms,
                                    reactor::CancelToken token) {
    net::HttpClientOptions options;
    options.timeouts.connect_timeout_ms = timeout_ms;
    options.timeouts.first_byte_timeout_ms = timeout_ms;
    options.timeouts.idle_timeout_ms = timeout_ms;
    options.timeouts.total_timeout_ms = timeout_ms;
    options.pool.idle_connections_max = 0;  // one probe, one connection
    net::HttpClient client(target.endpoint, options);
    net::HttpRequest request;
    request.target = target.path;
    Result<int> status = Error(Errc::internal, "no probe");
    {
        auto response = co_await client.send(std::move(request), token);
        if (response.ok()) {
            status = (*response)->status();
            co_await (*response)->cancel();  // the head is all we need
        } else {
            status = std::move(response).error();
        }
    }
    co_await client.close();
    co_return status;
}

}  // namespace pylon::engine
