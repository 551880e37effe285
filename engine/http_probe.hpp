// HttpProbe: "what status does GET <url> answer?", the health gate of supervised children
// (llama-server's /health answers 503 while the model loads and 200 when ready). Plain http://
// to an IP literal or localhost (the gate probes children on loopback), through net/'s
// HttpClient with one fresh connection per probe and a deadline on the whole exchange, so a hung
// server costs a timeout, never a blocked shard. Current shard only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/connection_pool.hpp"
#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

struct HttpProbeTarget {
    net::Endpoint endpoint;  // numeric host (localhost becomes 127.0.0.1)
    std::string path;        // "/health"
};

// Parses "http://HOST[:PORT][/PATH]" with HOST an IPv4 literal, [IPv6] or localhost.
Result<HttpProbeTarget> parse_probe_url(std::string_view url);

// GET target.path: the HTTP status code (e.g. 200, 503), or an error (connection refused, no
// answer within timeout_ms, a reply that is not HTTP). Cancelled by `token`.
reactor::Task<Result<int>> http_probe_status(HttpProbeTarget target, std::int64_t timeout_ms,
                                             reactor::CancelToken token = {});

}  // namespace pylon::engine
