// NodeMetrics: pylon-bench's client of the node's control socket for the `Metrics` request
// (docs/control-socket.md): the node's own token latency (backend chunk read → partial
// feedback or result handed to the relay pool), merged over its shards. Blocking, with a
// timeout; called from the bench's threads at the start of the measured phase (to reset) and
// after it (to read).
#pragma once

#include <cstdint>
#include <string>

#include "proto/control_protocol.hpp"
#include "reactor/result.hpp"

namespace pylon::bench {

inline constexpr int control_timeout_ms = 5000;
inline constexpr std::size_t control_reply_bytes_max = 64 * 1024;

// The `token_latency_us` object of the node's answer (microseconds).
struct TokenLatency {
    bool present = false;  // the node answered
    std::uint64_t count = 0;
    double p50_us = 0;
    double p99_us = 0;
    double p999_us = 0;
    double max_us = 0;
    double mean_us = 0;
};

// Sends one request line to the control socket at `socket_path`; returns the reply line.
Result<std::string> control_request(const std::string& socket_path, const std::string& line);

// `{"Metrics":{"reset":<reset>}}`, parsed.
Result<TokenLatency> query_token_latency(const std::string& socket_path, bool reset);

// `"Store"`, parsed: the store thread's counters (requests, transactions, ...).
Result<proto::StoreInfo> query_store(const std::string& socket_path);

// Reads the token_latency_us object of a Metrics reply; false when it is not there.
bool parse_token_latency(const std::string& reply, TokenLatency* out);

}  // namespace pylon::bench
