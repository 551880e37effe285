#include "engine/backend_factory.hpp"

#include <algorithm>
#include <charconv>

#include "engine/llamacpp_backend.hpp"
#include "engine/ollama_backend.hpp"
#include "engine/supervised_children.hpp"

namespace pylon::engine {

namespace {

Error bad_url(std::string_view url, std::string_view why) {
    return Error(Errc::invalid_input,
                 "backend url '" + std::string(url) + "': " + std::string(why));
}

HttpBackendOptions http_options(net::Endpoint endpoint, std::int64_t request_timeout_ms,
                                BackendUse use) {
    HttpBackendOptions h;
    h.endpoint = std::move(endpoint);
    h.http.timeouts.connect_timeout_ms = backend_connect_timeout_ms;
    if (use == BackendUse::probe) {
        h.http.timeouts.first_byte_timeout_ms = backend_probe_timeout_ms;
        h.http.timeouts.idle_timeout_ms = backend_probe_timeout_ms;
        h.http.timeouts.total_timeout_ms = 2 * backend_probe_timeout_ms;
    } else {
        h.http.timeouts = generation_timeouts(request_timeout_ms);
    }
    return h;
}

}  // namespace

net::HttpTimeouts generation_timeouts(std::int64_t request_timeout_ms) {
    net::HttpTimeouts t;
    t.connect_timeout_ms = backend_connect_timeout_ms;
    t.first_byte_timeout_ms = request_timeout_ms;
    t.idle_timeout_ms = std::min(request_timeout_ms, backend_token_gap_ms_max);
    t.total_timeout_ms = request_timeout_ms;
    return t;
}

std::int64_t request_timeout_ms(BackendKind kind, const Config& config) {
    return kind == BackendKind::ollama ? config.backends.ollama.request_timeout_ms
                                       : config.backends.llamacpp.request_timeout_ms;
}

Result<net::Endpoint> parse_backend_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) {
        return bad_url(url, "must start with http://");
    }
    std::string_view rest = url.substr(scheme.size());
    std::size_t slash = rest.find('/');
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (!path.empty() && path != "/") {
        return bad_url(url, "a path is not supported (give the server's base URL)");
    }
    std::string_view hostport = rest.substr(0, slash);
    std::string_view host;
    std::string_view port_text;
    if (!hostport.empty() && hostport.front() == '[') {
        std::size_t close = hostport.find(']');
        if (close == std::string_view::npos) {
            return bad_url(url, "unclosed [");
        }
        host = hostport.substr(1, close - 1);
        if (close + 1 < hostport.size()) {
            if (hostport[close + 1] != ':') {
                return bad_url(url, "expected ':' after ]");
            }
            port_text = hostport.substr(close + 2);
        }
    } else {
        std::size_t colon = hostport.rfind(':');
        host = hostport.substr(0, colon);
        if (colon != std::string_view::npos) {
            port_text = hostport.substr(colon + 1);
        }
    }
    net::Endpoint ep;
    ep.host = host == "localhost" ? "127.0.0.1" : std::string(host);
    if (ep.host.empty()) {
        return bad_url(url, "no host");
    }
    bool numeric = ep.host.find_first_not_of("0123456789.") == std::string::npos ||
                   ep.host.find(':') != std::string::npos;
    if (!numeric) {
        return bad_url(url, "the host must be an IP address or localhost");
    }
    unsigned port = 80;
    if (!port_text.empty()) {
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535) {
            return bad_url(url, "bad port");
        }
    }
    ep.port = static_cast<std::uint16_t>(port);
    return ep;
}

std::string backend_url(BackendKind kind, const Config& config) {
    if (kind == BackendKind::ollama) {
        return config.backends.ollama.url;
    }
    if (!config.backends.llamacpp.binary.empty()) {
        return llamacpp_spawned_url(config);
    }
    return config.backends.llamacpp.url;
}

Result<std::unique_ptr<Backend>> make_backend(BackendKind kind, const std::string& url,
                                              const Config& config, BackendUse use) {
    auto endpoint = parse_backend_url(url);
    if (!endpoint.ok()) {
        return std::move(endpoint).error();
    }
    std::unique_ptr<Backend> backend;
    if (kind == BackendKind::ollama) {
        const OllamaBackendConfig& c = config.backends.ollama;
        OllamaOptions o;
        o.http = http_options(std::move(endpoint.value()), c.request_timeout_ms, use);
        o.slots = c.slots > 0 ? static_cast<std::uint32_t>(c.slots) : 1;
        o.http.http.pool.idle_connections_max = std::max<std::size_t>(1, o.slots);
        o.http.http.pool.idle_timeout_ms = backend_idle_connection_ms_ollama;
        o.use_chat = c.use_chat;
        backend = std::make_unique<OllamaBackend>(std::move(o));
    } else {
        const LlamacppBackendConfig& c = config.backends.llamacpp;
        LlamaCppOptions o;
        o.http = http_options(std::move(endpoint.value()), c.request_timeout_ms, use);
        if (c.slots > 0) {  // else the pool's default: the slots come from /props later
            o.http.http.pool.idle_connections_max = static_cast<std::size_t>(c.slots);
        }
        o.http.http.pool.idle_timeout_ms = backend_idle_connection_ms_llamacpp;
        o.use_chat = c.use_chat;
        o.api_key = c.api_key;
        backend = std::make_unique<LlamaCppBackend>(std::move(o));
    }
    return backend;
}

}  // namespace pylon::engine
