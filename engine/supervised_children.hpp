// What the daemon supervises, built from its Config: the supervisor's options, a spawned
// llama-server ([backends.llamacpp] binary + model) and the worker ([worker] command, autopilotd's
// job). Pure functions of the configuration (plus file-existence checks for llama-server's
// binary and model, which decide `not_spawning` and its reason). Ollama is never spawned: it has
// its own service manager.
//
// The backend hook for the provider (issue 6): watch_llamacpp() registers a supervisor listener
// that reports the spawned llama-server's phase: `running` ("healthy at <url> with <slots>
// slots") once it passes its /health gate, `loading` while it starts, restarts or stops on its
// way to a restart (the provider's jobs for it wait), `down` when it is failed, stopped or not
// spawning (they fail). It reports the current phase at once, then every change. The backend
// registry subscribes with one callback; it runs on shard 0, synchronously within the state
// change, and must not block. The registry removes it (Supervisor::remove_listener) in its
// stop(), which comes before the supervisor's.
// Any thread for the builders; watch_llamacpp on shard 0.
#pragma once

#include <cstdint>
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

// What the provider makes of the spawned llama-server's ChildState: running (healthy), loading
// (starting, stopping, restarting: its jobs wait), down (failed, stopped, not_spawning).
enum class LlamacppPhase : std::uint8_t { running, loading, down };
LlamacppPhase llamacpp_phase(ChildState state) noexcept;

// The model id the spawned llama-server reports in /v1/models: the last -a/--alias in args,
// else the -m path (what requests may name while it loads, before /v1/models answers).
std::string llamacpp_model_id(const LlamacppBackendConfig& config);

struct BackendHealth {
    std::string backend;   // "llamacpp"
    std::string url;       // "http://127.0.0.1:8080"
    int slots = 0;         // the --parallel value
    bool healthy = false;  // phase == running
    LlamacppPhase phase = LlamacppPhase::down;
    std::string detail;  // the child state and why ("restarting: exited with code 1")
};
using BackendHealthFn = std::function<void(const BackendHealth&)>;

// Reports the spawned llama-server's phase to `fn` at once and then on every phase change (see
// the header comment). Returns the listener id: the caller (which stops
// before the supervisor) passes it to Supervisor::remove_listener() in its stop().
Result<std::uint64_t> watch_llamacpp(Supervisor& supervisor, const Config& config,
                                     BackendHealthFn fn);

}  // namespace pylon::engine
