// Helpers shared by the CLI commands that talk to a running daemon or print its data: finding
// the daemon (pid file lock + control socket), the one-line "not running" answer (exit 3),
// and human formatting of durations, ages and amounts. Main thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/cli.hpp"
#include "engine/control_client.hpp"
#include "engine/pid_file.hpp"

namespace pylon::engine {

struct DaemonLink {
    PidInfo pid;                          // from pylon.pid
    std::optional<ControlClient> client;  // connected when the daemon runs and answers
    std::string error;                    // why there is no client although pid says running
    std::string pid_error;                // the pid file could not be read (EACCES...): unknown
    bool silent = false;  // no pid file, holds the socket's lock, did not answer (hung, SIGSTOP)
};

// Looks at the pid file and, if a daemon runs, connects to its control socket. Without a pid
// file, a node that answers Health on the socket (--managed, or a host embedding the Runtime)
// counts as running, with the pid it reports; one that answers with a refusal (too many control
// connections) counts as running with pid 0 (unknown), no client and the refusal in `error`; so
// does one that holds the socket's lock but does not answer (`silent`, the timeout in `error`). A
// pid file that cannot be read (permission) sets pid_error and no client: callers must report
// it, never take it for a stopped daemon.
DaemonLink find_daemon(const Home& home);

// The config file the running node at `pid` loaded, and whether it was given (-c) rather than
// the home's: what its Health says (`config`, absolute), else its command line's -c/--config
// (relative: from this shell's folder), else the home's config.toml. The control socket is
// tried for at most `ask_ms` (a stopped daemon's socket still accepts, then never answers).
struct NodeConfigPath {
    std::string path;
    bool given = false;
};
inline constexpr int node_config_ask_ms = 1000;
NodeConfigPath node_config_path(const Home& home, pid_t pid, int ask_ms = node_config_ask_ms);

// "PID 1234", or "PID unknown" (a node without a pid file that refused to say).
std::string pid_text(const PidInfo& pid);

// "Pylon daemon is not running. Start it with: pylon start" on stderr; returns exit_not_running.
int report_not_running(CliContext& ctx);

// "1h 2m 3s", "4m 5s", "6s".
std::string format_uptime(std::uint64_t secs);
// "just now", "42s ago", "5m ago", "3h ago", "2d ago".
std::string format_age(std::int64_t unix_s, std::int64_t now_s);
// "7 sats (7000 msats)".
std::string format_sats(std::int64_t msats);
// "7.6 GiB", "512 MiB", "12 KiB".
std::string format_bytes(std::uint64_t bytes);

}  // namespace pylon::engine
