// ChildMachine: the lifecycle of one supervised child as a pure state machine. It decides; a
// ChildDriver acts (spawns, probes health, signals, arms the one timer the child needs) and
// reports back through the on_* events. Time comes from an injected Clock and restart jitter
// from an injected Rng, so tests drive it deterministically with a ManualClock and a fake driver;
// the Supervisor is the real driver (processes, io_uring, the shard's timer wheel).
//
// States (ChildState):
//   not_spawning{reason}  its configuration cannot run (binary or model missing)
//   stopped               not wanted (never started, or stopped by an operator)
//   starting              spawned (pid once known), waiting for the health gate
//   running{pid}          healthy
//   stopping              SIGTERM sent to the group; SIGKILL when the grace period ends
//   restarting{attempt}   exited unexpectedly; respawns when the backoff delay ends
//   failed{attempts}      gave up (too many consecutive failures, a permanent exit code);
//                         stays down until an operator starts or restarts it
// A failure is an exit the supervisor did not ask for, a failed spawn, a start timeout or a
// memory-policy kill ("oom-policy", which still goes through the backoff so a child that cannot
// fit cannot thrash). The count resets when the child has been healthy for stable_ms.
//
// One shard (the supervisor's). Not copyable; the driver, clock and rng must outlive it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "engine/child_process.hpp"
#include "engine/restart_policy.hpp"
#include "reactor/clock.hpp"
#include "reactor/rng.hpp"

namespace pylon::engine {

enum class ChildState : unsigned char {
    not_spawning,
    stopped,
    starting,
    running,
    stopping,
    restarting,
    failed,
};
const char* child_state_name(ChildState state) noexcept;

// Why the current process is being stopped.
enum class StopCause : unsigned char {
    none,
    operator_stop,     // ends in stopped
    operator_restart,  // ends in a fresh start (failure count reset)
    start_timeout,     // ends in the failure path
    memory_policy,     // ends in the failure path ("oom-policy")
};

struct ChildStatus {
    ChildState state = ChildState::stopped;
    pid_t pid = 0;                      // starting (once spawned), running, stopping
    unsigned consecutive_failures = 0;  // the attempt number while restarting / failed
    std::uint64_t total_restarts = 0;   // respawns after the first start
    std::uint64_t total_spawns = 0;
    std::string last_error;            // why it last failed ("" if never)
    std::string reason;                // not_spawning: why
    std::int64_t state_since_ms = 0;   // Clock time of the last transition
    std::int64_t started_ms = 0;       // Clock time of the current spawn (0 = none)
    std::int64_t healthy_ms = 0;       // Clock time it became healthy (0 = not yet)
    std::int64_t next_restart_ms = 0;  // restarting: when it respawns
    bool has_exit = false;
    ExitStatus last_exit;
};

class ChildDriver {
  public:
    virtual ~ChildDriver() = default;
    // Starts the process; answers with on_spawned() or on_spawn_failed() (maybe later).
    virtual void spawn() = 0;
    // Starts the health gate of the current process; answers with on_healthy().
    virtual void begin_health() = 0;
    virtual void end_health() = 0;
    // Sends `sig` to the current process and its group.
    virtual void signal(int sig) = 0;
    // The child's single timer (Clock time); arming replaces the previous deadline.
    virtual void arm_timer(std::int64_t deadline_ms) = 0;
    virtual void disarm_timer() = 0;
    // After every state change (and failure-count reset).
    virtual void changed(const ChildStatus& status, ChildState previous) = 0;
};

class ChildMachine {
  public:
    ChildMachine(std::string name, RestartPolicy policy, reactor::Clock& clock, reactor::Rng& rng,
                 ChildDriver& driver);
    ChildMachine(const ChildMachine&) = delete;
    ChildMachine& operator=(const ChildMachine&) = delete;

    const std::string& name() const noexcept { return name_; }
    const ChildStatus& status() const noexcept { return status_; }
    const RestartPolicy& policy() const noexcept { return policy_; }
    StopCause stop_cause() const noexcept { return stop_cause_; }
    // True while a process exists (spawned and not yet reaped) or a spawn is under way.
    bool process_alive() const noexcept { return spawn_pending_ || status_.pid != 0; }

    // -- Commands (operator, daemon, memory monitor). False when refused (the state says why).
    // Marks the configuration unusable; only from stopped / failed / not_spawning.
    bool set_not_spawning(std::string reason);
    // Clears not_spawning (the configuration became usable) back to stopped.
    void clear_not_spawning();
    bool start();
    bool stop();
    bool restart();
    // Memory policy: SIGTERM now; the exit counts as an "oom-policy" failure.
    bool kill_for_memory();

    // -- Events from the driver.
    void on_spawned(pid_t pid);
    void on_spawn_failed(const std::string& error);
    void on_healthy();
    void on_exit(const ExitStatus& exit);
    void on_timer();

  private:
    void enter(ChildState next);
    void spawn_now();
    void begin_stop(StopCause cause);
    void after_failure();
    void after_unexpected_exit(const ExitStatus& exit, ChildState was);
    std::int64_t now() const { return clock_.now_ms(); }

    std::string name_;
    RestartPolicy policy_;
    reactor::Clock& clock_;
    reactor::Rng& rng_;
    ChildDriver& driver_;
    ChildStatus status_;
    StopCause stop_cause_ = StopCause::none;
    bool spawn_pending_ = false;
    bool kill_sent_ = false;
};

}  // namespace pylon::engine
