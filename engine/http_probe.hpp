// HttpProbe: the smallest HTTP/1.1 client that answers "what status does GET <url> return?",
// used as the health gate of supervised children (llama-server's /health answers 503 while the
// model loads and 200 when ready). Plain http:// to an IP literal or localhost only (the gate
// probes children on loopback); the response is read up to its status line and the connection
// closed. Every step is an io_uring operation with a deadline, so a hung server costs a timeout,
// never a blocked shard.
// TODO(net): replace with net/'s HTTP client once it lands on main.
// Current shard only.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

struct HttpProbeTarget {
    sockaddr_storage addr{};
    unsigned addr_len = 0;
    std::string host_header;  // "127.0.0.1:8080"
    std::string path;         // "/health"
};

inline constexpr std::size_t http_probe_response_bytes_max = 4096;

// Parses "http://HOST[:PORT][/PATH]" with HOST an IPv4 literal, [IPv6] or localhost.
Result<HttpProbeTarget> parse_probe_url(std::string_view url);

// GET target.path: the HTTP status code (e.g. 200, 503) or -errno (-ETIME after timeout_ms,
// -ECONNREFUSED, -EPROTO for a reply that is not HTTP).
reactor::Task<int> http_probe_status(HttpProbeTarget target, std::int64_t timeout_ms,
                                     reactor::CancelToken token = {});

}  // namespace pylon::engine
