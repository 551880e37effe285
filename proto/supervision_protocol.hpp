// SupervisionProtocol: the control-socket replies of the supervision service (issue 7), in the
// externally tagged style of control_protocol.hpp: "Supervisor" -> {"Supervisor":{...}} (every
// supervised child: state, pid, uptime, restarts, last error, log file) and "Memory" ->
// {"Memory":{...}} (the memory monitor's level, admission and counters); the argument of
// {"ChildStart"|"ChildStop"|"ChildRestart":{"name":"llamacpp"}}; and, for the CLI, the decoder of
// autopilotd's worker reply {"success":..,"message":..,"data":{...}}. docs/supervision.md lists
// the fields. Pure: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/control_protocol.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

class JsonReader;

inline constexpr std::size_t child_name_bytes_max = 64;

struct ChildInfo {
    std::string name;
    std::string kind;   // "llamacpp" | "worker" | "agent" | ""
    std::string state;  // not_spawning|stopped|starting|running|stopping|restarting|failed
    std::optional<std::int64_t> pid;
    std::uint64_t uptime_secs = 0;
    std::uint64_t restarts = 0;
    std::uint64_t consecutive_failures = 0;
    std::string last_error;
    std::string reason;     // not_spawning: why
    std::string last_exit;  // "exit code 3" | "killed by SIGKILL" | ""
    std::int64_t next_restart_in_ms = 0;
    std::int64_t priority = 0;
    std::string health;  // "http http://127.0.0.1:8080/health" | "ready-line X" | "alive 1000 ms"
    std::string log_path;
};

struct SupervisorInfo {
    std::string exit_watch;  // "waitid" | "poll"
    std::uint64_t orphans_reaped = 0;
    std::uint64_t stale_terminated = 0;
    std::vector<ChildInfo> children;
};

struct MemoryInfo {
    bool enabled = false;
    std::string level = "normal";  // normal | low | critical
    bool admitting = true;
    std::uint64_t available_bytes = 0;
    std::uint64_t total_bytes = 0;
    std::uint64_t low_threshold_bytes = 0;
    std::uint64_t critical_threshold_bytes = 0;
    bool psi_armed = false;
    std::uint64_t polls = 0;
    std::uint64_t psi_wakes = 0;
    std::uint64_t signals_sent = 0;
    std::uint64_t kills_aborted = 0;
    std::uint64_t poll_cost_ns_last = 0;
    // The last memory event (MemoryLow, MemoryCritical, MemoryNormal or ProcessKilled) as one
    // line, and when it happened (unix ms, 0 = none yet): `pylon status` shows it.
    std::string last_event;
    std::int64_t last_event_at_ms = 0;
};

// {"Supervisor":{...}} and {"Memory":{...}} (no newline); the *_body forms are the objects alone
// (the CLI's --json output).
void encode_supervisor(const SupervisorInfo& info, std::string& out);
void encode_supervisor_body(const SupervisorInfo& info, std::string& out);
void encode_memory(const MemoryInfo& info, std::string& out);
void encode_memory_body(const MemoryInfo& info, std::string& out);

Reject decode_supervisor(std::string_view body_json, JsonReader& reader, SupervisorInfo& out);
Reject decode_memory(std::string_view body_json, JsonReader& reader, MemoryInfo& out);
// A whole autopilotd reply line; has_data tells whether "data" was present.
Reject decode_worker_reply(std::string_view line, JsonReader& reader, WorkerReply& out);
// The {"name":"..."} argument of ChildStart / ChildStop / ChildRestart.
Reject decode_child_name(std::string_view args_json, JsonReader& reader, std::string& name);

}  // namespace pylon::proto
