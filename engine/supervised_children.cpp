#include "engine/supervised_children.hpp"

#include <algorithm>

#include <sys/stat.h>
#include <unistd.h>

#include "engine/identity_file.hpp"

namespace pylon::engine {
namespace {

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::int64_t grace_or_default(std::int64_t child_ms, const SupervisorConfig& sup) {
    return child_ms >= 0 ? child_ms : sup.stop_grace_ms;
}

// A child table's overrides of the [supervisor] policy: -1 keeps the [supervisor] value, and a
// value below the [supervisor] key's own minimum is raised to it.
template <typename ChildTable>
void apply_overrides(const ChildTable& t, RestartPolicy& p) {
    if (t.backoff_initial_ms >= 0) {
        p.backoff_base_ms = std::max<std::int64_t>(t.backoff_initial_ms, 10);
    }
    if (t.backoff_max_ms >= 0) {
        p.backoff_max_ms = std::max<std::int64_t>(t.backoff_max_ms, 100);
    }
    if (t.stable_after_ms >= 0) {
        p.stable_ms = std::max<std::int64_t>(t.stable_after_ms, 100);
    }
    if (t.failures_max >= 0) {
        p.failures_max = static_cast<unsigned>(std::max<std::int64_t>(t.failures_max, 1));
    }
    // A child's own bound wins over the one it inherits: [worker] backoff_max_ms = 500 under
    // the default supervisor.backoff_initial_ms (1000) means delays of at most 500 ms.
    if (p.backoff_base_ms > p.backoff_max_ms) {
        if (t.backoff_max_ms >= 0) {
            p.backoff_base_ms = p.backoff_max_ms;
        } else {
            p.backoff_max_ms = p.backoff_base_ms;
        }
    }
}

}  // namespace

RestartPolicy restart_policy_from(const SupervisorConfig& config) {
    RestartPolicy p;
    p.backoff_base_ms = config.backoff_initial_ms;
    p.backoff_max_ms = config.backoff_max_ms;
    p.backoff_steps = static_cast<unsigned>(config.backoff_steps);
    p.jitter_percent = static_cast<unsigned>(config.jitter_percent);
    p.stable_ms = config.stable_after_ms;
    p.failures_max = static_cast<unsigned>(config.failures_max);
    p.stop_grace_ms = config.stop_grace_ms;
    return p;
}

ExitWatch exit_watch_from(const SupervisorConfig& config, const reactor::UringFeatures& features) {
    // "waitid" on a kernel without IORING_OP_WAITID falls back to poll like "auto" does.
    return config.exit_watch != "poll" && features.waitid ? ExitWatch::waitid : ExitWatch::poll;
}

SupervisorOptions supervisor_options_from(const Config& config, const Home& home,
                                          const reactor::UringFeatures& features) {
    SupervisorOptions o;
    o.logs_dir = home.logs_dir();
    o.run_file = home.path("run/children.json");
    o.exit_watch = exit_watch_from(config.supervisor, features);
    o.log_file_bytes_max = static_cast<std::uint64_t>(config.supervisor.child_log_bytes_max);
    o.log_files_kept = static_cast<unsigned>(config.supervisor.child_logs_kept);
    o.orphan_grace_ms = config.supervisor.orphan_grace_ms;
    o.reconcile_grace_ms = config.supervisor.stop_grace_ms;
    return o;
}

std::string llamacpp_spawned_url(const Config& config) {
    return "http://127.0.0.1:" + std::to_string(config.backends.llamacpp.port);
}

// Why `program` (argv[0] of a child started in `cwd`) cannot be run, or "": a path (relative
// ones from the child's working folder) must exist, a bare name must be found in PATH. A missing
// program is `not_spawning` with this reason, not a crash to restart.
static std::string missing_program(std::string_view what, const std::string& program,
                                   const std::string& cwd) {
    if (program.find('/') != std::string::npos) {
        std::string path = program[0] == '/' || cwd.empty() ? program : cwd + "/" + program;
        return file_exists(path) ? "" : std::string(what) + " " + program + " does not exist";
    }
    const char* env_path = ::getenv("PATH");
    return resolve_program(program, env_path != nullptr ? env_path : "").ok()
               ? ""
               : std::string(what) + " " + program + " is not in PATH";
}

std::optional<ChildConfig> llamacpp_child(const Config& config) {
    const LlamacppBackendConfig& l = config.backends.llamacpp;
    if (l.binary.empty()) {
        return std::nullopt;
    }
    ChildConfig c;
    c.name = llamacpp_child_name;
    c.kind = "llamacpp";
    c.priority = priority_llamacpp;
    c.spawn.argv = {l.binary,
                    "-m",
                    l.model,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    std::to_string(l.port),
                    "-c",
                    std::to_string(l.ctx_size),
                    "-np",
                    std::to_string(l.parallel)};
    c.spawn.argv.insert(c.spawn.argv.end(), l.args.begin(), l.args.end());
    c.health.kind = HealthKind::http;
    c.health.url = llamacpp_spawned_url(config) + "/health";
    c.policy = restart_policy_from(config.supervisor);
    c.policy.mode = RestartMode::always;
    c.policy.start_timeout_ms = l.start_timeout_ms;
    c.policy.stop_grace_ms = grace_or_default(l.stop_grace_ms, config.supervisor);
    if (l.permanent_exit_code >= 0) {
        c.policy.permanent_exit_codes = {static_cast<int>(l.permanent_exit_code)};
    }
    apply_overrides(l, c.policy);
    std::string missing = missing_program("llama-server binary", l.binary, "");
    if (!l.enabled) {
        c.not_spawning_reason = "backends.llamacpp.enabled is false";
    } else if (!missing.empty()) {
        c.not_spawning_reason = missing;
    } else if (l.model.empty()) {
        c.not_spawning_reason = "backends.llamacpp.model (a GGUF file) is not set";
    } else if (!file_exists(l.model)) {
        c.not_spawning_reason = "model file " + l.model + " does not exist";
    }
    return c;
}

std::optional<ChildConfig> worker_child(const Config& config, const Home& home) {
    const WorkerConfig& w = config.worker;
    if (w.command.empty()) {
        return std::nullopt;
    }
    ChildConfig c;
    c.name = worker_child_name;
    c.kind = "worker";
    c.priority = priority_worker;
    c.spawn.argv = w.command;
    c.spawn.cwd = w.cwd.empty() ? home.dir() : w.cwd;
    c.spawn.env = w.env;
    c.spawn.env.push_back("PYLON_SUPERVISED=1");
    if (w.ready_line.empty()) {
        c.health.kind = HealthKind::alive;
        c.health.alive_ms = w.alive_after_ms;
    } else {
        c.health.kind = HealthKind::ready_line;
        c.health.ready_line = w.ready_line;
    }
    c.policy = restart_policy_from(config.supervisor);
    parse_restart_mode(w.restart, c.policy.mode);  // validated by the settings check
    c.policy.start_timeout_ms = w.start_timeout_ms;
    c.policy.stop_grace_ms = grace_or_default(w.stop_grace_ms, config.supervisor);
    if (w.permanent_exit_code >= 0) {
        c.policy.permanent_exit_codes = {static_cast<int>(w.permanent_exit_code)};
    }
    apply_overrides(w, c.policy);
    c.not_spawning_reason = missing_program("worker command", w.command[0], c.spawn.cwd);
    return c;
}

ChildConfig agent_child(const Config& config, const Home& home, const std::string& name,
                        std::int64_t account, const std::string& npub) {
    const AgentsConfig& a = config.agents;
    ChildConfig c;
    c.name = name;
    c.kind = "agent";
    c.priority = priority_agent;
    c.spawn.argv = a.command;
    c.spawn.cwd = home.dir();
    c.spawn.env = a.env;
    c.spawn.env.push_back("PYLON_SUPERVISED=1");
    c.spawn.env.push_back("PYLON_AGENT_NAME=" + name);
    c.spawn.env.push_back("PYLON_AGENT_ACCOUNT=" + std::to_string(account));
    c.spawn.env.push_back("PYLON_AGENT_NPUB=" + npub);
    c.spawn.env.push_back("PYLON_MNEMONIC_FILE=" + identity_path(home, config));
    c.health.kind = HealthKind::alive;
    c.health.alive_ms = a.alive_after_ms;
    c.policy = restart_policy_from(config.supervisor);
    parse_restart_mode(a.restart, c.policy.mode);  // validated by the settings check
    c.policy.start_timeout_ms = a.start_timeout_ms;
    c.policy.stop_grace_ms = grace_or_default(a.stop_grace_ms, config.supervisor);
    if (a.permanent_exit_code >= 0) {
        c.policy.permanent_exit_codes = {static_cast<int>(a.permanent_exit_code)};
    }
    apply_overrides(a, c.policy);
    if (!a.command.empty()) {
        c.not_spawning_reason = missing_program("agents command", a.command[0], c.spawn.cwd);
    }
    return c;
}

LlamacppPhase llamacpp_phase(ChildState state) noexcept {
    switch (state) {
        case ChildState::running:
            return LlamacppPhase::running;
        case ChildState::starting:
        case ChildState::stopping:
        case ChildState::restarting:
            return LlamacppPhase::loading;
        case ChildState::not_spawning:
        case ChildState::stopped:
        case ChildState::failed:
            break;
    }
    return LlamacppPhase::down;
}

std::string llamacpp_model_id(const LlamacppBackendConfig& config) {
    std::string id = config.model;
    const std::vector<std::string>& a = config.args;
    for (std::size_t i = 0; i < a.size(); i++) {
        if ((a[i] == "-a" || a[i] == "--alias") && i + 1 < a.size()) {
            id = a[++i];
        } else if (a[i].starts_with("--alias=")) {
            id = a[i].substr(8);
        }
    }
    return id;
}

namespace {

BackendHealth health_of(const BackendHealth& base, const ChildView& child) {
    BackendHealth h = base;
    h.phase = llamacpp_phase(child.status.state);
    h.healthy = h.phase == LlamacppPhase::running;
    h.detail = child_state_name(child.status.state);
    ChildState st = child.status.state;
    const std::string& why =
        st == ChildState::not_spawning ? child.status.reason : child.status.last_error;
    bool says_why =
        st == ChildState::not_spawning || st == ChildState::failed || st == ChildState::restarting;
    if (says_why && !why.empty()) {
        h.detail += ": " + why;
    }
    return h;
}

}  // namespace

Result<std::uint64_t> watch_llamacpp(Supervisor& supervisor, const Config& config,
                                     BackendHealthFn fn) {
    BackendHealth base;
    base.backend = "llamacpp";
    base.url = llamacpp_spawned_url(config);
    base.slots = static_cast<int>(config.backends.llamacpp.parallel);
    if (auto view = supervisor.view(llamacpp_child_name)) {
        fn(health_of(base, *view));
    }
    return supervisor.add_listener([base, fn = std::move(fn)](const SupervisorEvent& e) {
        if (e.child->name != llamacpp_child_name) {
            return;
        }
        if (llamacpp_phase(e.child->status.state) != llamacpp_phase(e.previous)) {
            fn(health_of(base, *e.child));
        }
    });
}

}  // namespace pylon::engine
