// RuntimeStatus and friends: plain values describing a running node, copied out of the runtime
// for a host, the control socket and `pylon status`. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/control_protocol.hpp"

namespace pylon::engine {

enum class RunMode : std::uint8_t { provider, host, both };

std::string_view run_mode_name(RunMode mode) noexcept;  // "provider" | "host" | "both"
std::optional<RunMode> parse_run_mode(std::string_view text) noexcept;
inline bool runs_provider(RunMode m) noexcept {
    return m != RunMode::host;
}
inline bool runs_host(RunMode m) noexcept {
    return m != RunMode::provider;
}

struct RuntimeStatus {
    bool running = false;
    std::int64_t pid = 0;
    std::int64_t started_at_ms = 0;  // unix ms
    std::uint64_t uptime_secs = 0;
    RunMode mode = RunMode::both;
    bool provider_active = false;
    bool host_active = false;
    unsigned shards = 0;
    std::uint64_t jobs_completed = 0;
    std::uint64_t earnings_msats = 0;
    std::uint64_t events_dropped = 0;
    std::string home;
    std::string config_path;  // the file the node loaded and reloads; "" for none
    std::vector<proto::RelayInfo> relays;
    std::vector<proto::BackendInfo> backends;
};

// What a reload did.
struct ReloadReport {
    std::vector<std::string> applied;      // reloadable keys that changed
    std::vector<std::string> not_applied;  // changed keys that need a restart
    std::vector<std::string> warnings;     // from the config file (unknown keys)
};

}  // namespace pylon::engine
