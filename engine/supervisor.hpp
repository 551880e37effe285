// Supervisor: keeps the daemon's child processes (llama-server, the worker, agents) running on
// shard 0. Each child has a ChildConfig (what to run, its health gate, its restart policy, its
// memory priority), a ChildMachine (the lifecycle decisions) and a ChildLog (logs/<name>.log).
// The supervisor is the machines' driver: it spawns with pidfds (ChildProcess), watches exits
// with IORING_OP_WAITID or the poll fallback, probes health (HTTP 200, a ready line on stdout,
// or alive for N ms), signals process groups and arms one timer per child on the shard's timer
// wheel. An idle supervisor has no periodic wake-ups: it waits on exits, pipes and one-shot
// timers.
//
// Crash recovery: start() first reads the run file (RunFile) of an earlier daemon and
// terminates that daemon's children it can prove are its own, then starts fresh ones; every
// spawn and exit rewrites the run file. As PR_SET_CHILD_SUBREAPER (become_subreaper(), set by
// the daemon) makes orphaned descendants our children, the supervisor adopts those that belong
// to its children (same session, or the PYLON_CHILD_TOKEN environment entry), sends them
// SIGTERM, SIGKILL after orphan_grace_ms, and reaps them: no zombies.
//
// Threading: shard 0 only (spawn from the long-lived shard-0 thread, PDEATHSIG follows it).
// Lifetime: construct, add() children, co_await start(), ..., co_await stop() before destroying.
// Listeners (on_change) are called synchronously on every state change; they must not call back
// into commands of the same child from within the callback.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/child_log.hpp"
#include "engine/child_machine.hpp"
#include "engine/child_process.hpp"
#include "engine/proc_fs.hpp"
#include "engine/restart_policy.hpp"
#include "reactor/cancel.hpp"
#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/rng.hpp"
#include "reactor/task.hpp"
#include "reactor/timer_wheel.hpp"

namespace pylon::engine {

enum class HealthKind : unsigned char {
    alive,       // healthy once alive for alive_ms (supervisord's startsecs)
    ready_line,  // healthy once a stdout line contains ready_line
    http,        // healthy once GET url answers 200 (polled every poll_interval_ms)
};
const char* health_kind_name(HealthKind kind) noexcept;

struct HealthGate {
    HealthKind kind = HealthKind::alive;
    std::int64_t alive_ms = 1000;
    std::string ready_line;
    std::string url;
    std::int64_t poll_interval_ms = 1000;  // s6-notifyoncheck's 1 s
    std::int64_t probe_timeout_ms = 2000;  // one HTTP probe
};

// Lower priorities are terminated first under critical memory.
inline constexpr int priority_agent = 10;
inline constexpr int priority_worker = 20;
inline constexpr int priority_llamacpp = 30;

struct ChildConfig {
    std::string name;  // unique; [A-Za-z0-9_.-], used for the log file name
    SpawnSpec spawn;
    HealthGate health;
    RestartPolicy policy;
    int priority = 50;
    bool autostart = true;            // started by Supervisor::start()
    std::string not_spawning_reason;  // non-empty: configured but cannot run (why)
    std::string kind;                 // "llamacpp" | "worker" | "agent" | "" (for status)
};

struct SupervisorOptions {
    std::string logs_dir;  // child logs go to <logs_dir>/<name>.log ("" = no logs)
    std::string run_file;  // "" = no crash recovery record
    ExitWatch exit_watch = ExitWatch::waitid;
    std::uint64_t log_file_bytes_max = 10 * 1024 * 1024;
    unsigned log_files_kept = 3;
    bool adopt_orphans = true;
    // Also reap orphans that cannot be traced to our children (they are waited for, never
    // signalled). Right for the daemon, whose only children are supervised ones; wrong for a
    // process with children of its own (a test, an embedding host): those would be reaped.
    bool reap_all_orphans = false;
    std::int64_t orphan_grace_ms = 5000;
    // How often orphans are looked for besides a child's exit (a descendant of a healthy child,
    // e.g. `sh -c "tool &"`, is reparented to us and would stay a zombie until then); 0 = only
    // at a child's exit.
    std::int64_t orphan_scan_interval_ms = 2000;
    std::int64_t reconcile_grace_ms = 5000;
    std::string proc_root = "/proc";
    std::size_t children_max = 64;
    std::size_t orphans_max = 256;
    std::size_t listeners_max = 16;
    reactor::Clock* clock = nullptr;  // nullptr = SystemClock
    std::uint64_t rng_seed = 0;       // 0 = seeded from the clock and pid
};

// What `pylon supervisor status` and the control socket show for one child.
struct ChildView {
    std::string name;
    std::string kind;
    ChildStatus status;
    std::int64_t uptime_ms = 0;  // since the current process was spawned (0 without one)
    std::int64_t next_restart_in_ms = 0;
    int priority = 0;
    std::string log_path;
    std::string
        health;  // "http http://127.0.0.1:8080/health" | "ready-line READY" | "alive 1000 ms"
    std::uint64_t log_bytes_dropped = 0;
};

struct SupervisorEvent {
    const ChildView* child;
    ChildState previous;
};

// A supervised process the memory monitor may terminate.
struct SupervisedProcess {
    std::string name;
    pid_t pid = 0;
    int priority = 0;
};

struct SupervisorCounters {
    std::uint64_t spawns = 0;
    std::uint64_t spawn_failures = 0;
    std::uint64_t exits = 0;
    std::uint64_t orphans_reaped = 0;
    std::uint64_t stale_terminated = 0;
    std::int64_t last_exit_detect_ns = 0;  // monotonic time the last exit was observed
};

class Supervisor {
  public:
    using Listener = std::function<void(const SupervisorEvent&)>;

    explicit Supervisor(SupervisorOptions options);
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;
    ~Supervisor();

    // Adds a child (before or after start()). Fails on a duplicate or invalid name, or at
    // children_max.
    Status add(ChildConfig config);
    // Registers a listener for every state change (bounded by listeners_max).
    Status on_change(Listener listener);
    // The same, with an id for remove_listener(): a listener whose owner stops before the
    // supervisor (a service started after it) must be removed in that owner's stop().
    Result<std::uint64_t> add_listener(Listener listener);
    // Forgets a listener; unknown ids are ignored. Not from within a listener call.
    void remove_listener(std::uint64_t id) noexcept;

    // Reconciles the run file, opens the logs, starts the autostart children.
    reactor::Task<Status> start();
    // Stops every child (SIGTERM, SIGKILL after each one's grace), waits for their exits and
    // their output, closes the logs. The supervisor is then inert.
    reactor::Task<void> stop();

    // Operator commands; not_found for an unknown name, a refusal says why.
    Status start_child(const std::string& name);
    Status stop_child(const std::string& name);
    Status restart_child(const std::string& name);
    // Marks a child unusable (e.g. its model file vanished) or usable again.
    Status set_not_spawning(const std::string& name, std::string reason);

    std::optional<ChildView> view(const std::string& name) const;
    std::vector<ChildView> views() const;
    const SupervisorCounters& counters() const noexcept { return counters_; }
    const SupervisorOptions& options() const noexcept { return options_; }

    // For the memory monitor: live supervised processes, and the policy kill.
    std::vector<SupervisedProcess> processes() const;
    bool owns_pid(pid_t pid) const;
    Status kill_for_memory(const std::string& name);
    // Sends `sig` to the child's current process group (escalation by the memory monitor).
    Status signal_child(const std::string& name, int sig);

    // For tests and benchmarks: resumes when `name` is in `state` or timeout_ms passed.
    reactor::Task<bool> wait_for_state(std::string name, ChildState state, std::int64_t timeout_ms);

  private:
    struct Child;
    // An adopted orphan (a descendant reparented to us), waited for and reaped.
    struct OrphanEntry {
        pid_t sid = 0;
        bool ours = false;                      // traced to one of our children (session or token)
        bool terminate = false;                 // its session leader is gone: SIGTERM it
        bool abandon = false;                   // shutdown: stop waiting for one we may not signal
        reactor::CancelSource* wake = nullptr;  // owned by the reap_orphan frame
    };

    Child* find(const std::string& name) const;
    ChildView make_view(const Child& c) const;
    void notify(Child& c, ChildState previous);
    void request_run_file_write();
    std::string encode_run_file() const;
    void adopt_orphans();
    bool is_our_descendant(pid_t pid, const ProcStat& st) const;

    static reactor::Task<void> spawn_child(Supervisor* s, Child* c, std::uint64_t generation);
    static reactor::Task<void> watch_exit(Supervisor* s, Child* c, std::uint64_t generation);
    static reactor::Task<void> run_health(Child* c, std::uint64_t generation);
    static reactor::Task<void> reap_orphan(Supervisor* s, pid_t pid, int pidfd);
    static reactor::Task<void> write_run_file_loop(Supervisor* s);
    static reactor::Task<void> orphan_scan_loop(Supervisor* s);
    reactor::Task<void> reconcile();

    SupervisorOptions options_;
    reactor::Clock* clock_;
    reactor::Rng rng_;
    ProcFs proc_;
    std::string instance_;  // random per daemon run: the prefix of every child token
    std::string boot_id_;
    std::vector<std::unique_ptr<Child>> children_;
    std::vector<std::pair<std::uint64_t, Listener>> listeners_;
    std::uint64_t next_listener_id_ = 1;
    std::unordered_map<pid_t, OrphanEntry> orphans_;
    std::vector<pid_t> recent_sessions_;  // sessions of recent children (orphans' origin)
    bool started_ = false;
    bool stopping_ = false;
    bool run_file_dirty_ = false;
    bool run_file_writer_active_ = false;
    unsigned spawning_ = 0;  // spawns awaiting their exec: their pids are not recorded yet
    SupervisorCounters counters_;
    reactor::CancelSource shutdown_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
