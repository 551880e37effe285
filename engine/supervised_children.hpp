// What the daemon supervises, built from its Config: the supervisor's options, a spawned
// llama-server ([backends.llamacpp] binary + model) and the worker ([worker] command, autopilotd's
// job). Pure functions of the configuration (plus file-existence checks for llama-server's
// binary and model, which decide `not_spawning` and its reason). Ollama is never spawned: it has
// its own service manager.
//
// The backend hook for the provider (issue 6): watch_llamacpp() registers a supervisor listener
// that reports "llamacpp healthy at <url> with <slots> slots" when the spawned llama-server
// passes its /health gate (state running), and "unhealthy" when it leaves running (stopping,
// restarting, failed, stopped). The backend registry subscribes with one callback; it runs on
// shard 0, synchronously within the state change, and must not block. The registry removes it
// (Supervisor::remove_listener) in its stop(), which comes before the supervisor's.
// Any thread for the builders; watch_llamacpp on shard 0.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/config.hpp"
#include "engine/home.hpp"
#include "engine/supervisor.hpp"
#include "reactor/probe.hpp"

namespace pylon::engine {

inline constexpr const char* llamacpp_child_name = "llamacpp";
inline constexpr const char* worker_child_name = "worker";

// The [supervisor] restart policy (per-child tables may override parts of it).
RestartPolicy restart_policy_from(const SupervisorConfig& config);
// exit_watch = auto picks WAITID when the kernel has it, else poll.
ExitWatch exit_watch_from(const SupervisorConfig& config, const reactor::UringFeatures& features);
SupervisorOptions supervisor_options_from(const Config& config, const Home& home,
                                          const reactor::UringFeatures& features);

// The spawned llama-server, or nullopt when [backends.llamacpp] binary is empty (an external
// server, or none). A configured binary or model that does not exist gives a child with a
// not_spawning_reason. Always passes --host 127.0.0.1 --port P -c N -np N, then args.
std::optional<ChildConfig> llamacpp_child(const Config& config);
// The base URL of the spawned llama-server: http://127.0.0.1:<port>.
std::string llamacpp_spawned_url(const Config& config);

// The worker, or nullopt when [worker] command is empty.
std::optional<ChildConfig> worker_child(const Config& config, const Home& home);

// One host-mode agent: [agents] command with its identity in the environment
// (PYLON_AGENT_NAME, PYLON_AGENT_ACCOUNT, PYLON_AGENT_NPUB and PYLON_MNEMONIC_FILE, the path of
// the node's mnemonic: never the mnemonic itself, and nothing in argv).
ChildConfig agent_child(const Config& config, const Home& home, const std::string& name,
                        std::int64_t account, const std::string& npub);

struct BackendHealth {
    std::string backend;  // "llamacpp"
    std::string url;      // "http://127.0.0.1:8080"
    int slots = 0;        // the --parallel value
    bool healthy = false;
};
using BackendHealthFn = std::function<void(const BackendHealth&)>;

// Reports the spawned llama-server's health transitions to `fn` (see the header comment), and
// at once "healthy" when it already runs. Returns the listener id: the caller (which stops
// before the supervisor) passes it to Supervisor::remove_listener() in its stop().
Result<std::uint64_t> watch_llamacpp(Supervisor& supervisor, const Config& config,
                                     BackendHealthFn fn);

}  // namespace pylon::engine
