// MemoryMonitor: keeps the machine alive under memory pressure, on shard 0. It reads
// /proc/meminfo through io_uring (opened once, re-read at offset 0 each poll) at an adaptive
// interval (MemoryPolicy: 100 ms under pressure, up to 1 s when comfortable) and wakes early on
// a PSI trigger where the kernel accepts one (PsiTrigger). On each reading:
//   low       stop admitting new jobs (admitting() turns false; the provider's intake then
//             answers with an `error` feedback saying the node is overloaded) and terminate the
//             operator's configured hogs (HogFinder: name pattern + RSS, same user, never our
//             own children, pid 1 or ourselves);
//   critical  the same, then terminate the lowest-priority supervised child (agents before the
//             worker before llama-server; ties: largest RSS) through the Supervisor, so the
//             kill is recorded as "oom-policy" and goes through its backoff.
// Every kill is SIGTERM, then SIGKILL after kill_grace_ms, and memory is re-read before each
// signal: when it has recovered the kill is abandoned (earlyoom's double check). After a kill
// the monitor waits kill_cooldown_ms before choosing another victim. Every action is an event
// (MemoryLow, MemoryCritical, MemoryRecovered, ProcessKilled{pid, rss, reason}, KillAborted)
// for the listeners (the daemon's event bus, `status`, `watch`) and a log line.
//
// The meminfo path, proc root and PSI source are options, so tests inject a low reading, a
// fabricated process tree or a pipe as the PSI source (earlyoom's procdir idea).
// Threading: shard 0; admitting() and level_now() are atomics readable from any thread.
// Lifetime: co_await start(), ..., co_await stop() before destruction.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/meminfo.hpp"
#include "engine/memory_policy.hpp"
#include "engine/proc_fs.hpp"
#include "engine/psi_trigger.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

class Supervisor;

struct MemoryMonitorOptions {
    MemoryThresholds thresholds;
    std::string meminfo_path = "/proc/meminfo";
    std::string proc_root = "/proc";
    std::string psi_path = "/proc/pressure/memory";  // "" = no PSI wake-ups
    std::string psi_trigger = psi_default_trigger;   // "" = write none (a test source)
    unsigned psi_events = POLLPRI;                   // what the PSI fd is polled for
    std::int64_t psi_min_gap_ms = 100;               // at most one PSI wake-up per this
    std::vector<std::string> hog_patterns;           // empty = never touch other processes
    std::uint64_t hog_rss_bytes_min = 524288000;
    std::int64_t kill_grace_ms = 5000;
    std::int64_t kill_poll_ms = 100;  // how often a SIGTERMed victim is checked
    std::int64_t kill_cooldown_ms = 2000;
    std::int64_t no_victim_pause_ms = 1000;  // nothing could be killed: look again after this
    std::size_t listeners_max = 16;
};

enum class MemoryEventKind : unsigned char {
    low,             // MemoryLow: admission stopped
    critical,        // MemoryCritical
    recovered,       // MemoryRecovered: back to normal, admission resumed
    process_killed,  // ProcessKilled{pid, rss, reason}: a signal was sent
    kill_aborted,    // KillAborted: memory recovered before the signal
};
// "MemoryLow", "MemoryCritical", "MemoryRecovered", "ProcessKilled", "KillAborted".
const char* memory_event_name(MemoryEventKind kind) noexcept;

struct MemoryEvent {
    MemoryEventKind kind = MemoryEventKind::low;
    MemoryLevel level = MemoryLevel::normal;
    MemInfo mem;
    pid_t pid = 0;
    std::uint64_t rss_bytes = 0;
    std::string name;    // the process (comm) or the supervised child's name
    std::string reason;  // "memory critical: 812 MiB available (threshold 1024 MiB)"
    int signal = 0;      // SIGTERM / SIGKILL for process_killed
};

struct MemoryCounters {
    std::uint64_t polls = 0;
    std::uint64_t read_errors = 0;
    std::uint64_t psi_wakes = 0;
    std::uint64_t poll_cost_ns_last = 0;  // read + parse + assess of the last poll
    std::uint64_t poll_cost_ns_total = 0;
    std::uint64_t signals_sent = 0;
    std::uint64_t kills_aborted = 0;
};

class MemoryMonitor {
  public:
    using Listener = std::function<void(const MemoryEvent&)>;

    // `supervisor` (may be null) provides the victims of the critical level.
    MemoryMonitor(MemoryMonitorOptions options, Supervisor* supervisor);
    MemoryMonitor(const MemoryMonitor&) = delete;
    MemoryMonitor& operator=(const MemoryMonitor&) = delete;
    ~MemoryMonitor();

    // Opens /proc/meminfo (a first reading must parse), arms PSI where possible, starts polling.
    reactor::Task<Status> start();
    reactor::Task<void> stop();

    // Any thread: false while memory is low or critical (new jobs are refused).
    bool admitting() const noexcept { return admitting_.load(std::memory_order_relaxed); }
    MemoryLevel level_now() const noexcept { return level_atomic_.load(std::memory_order_relaxed); }

    // Shard 0.
    MemoryLevel level() const noexcept { return level_; }
    const MemInfo& last() const noexcept { return last_; }
    const MemoryAssessment& assessment() const noexcept { return assessment_; }
    bool psi_armed() const noexcept { return psi_.has_value(); }
    const MemoryCounters& counters() const noexcept { return counters_; }
    const MemoryMonitorOptions& options() const noexcept { return options_; }
    Status on_event(Listener listener);
    // Called with every reading (the daemon mirrors it into its status board).
    void set_reading_hook(std::function<void(const MemInfo&)> hook) {
        reading_hook_ = std::move(hook);
    }
    // A SIGHUP reload: the thresholds, poll intervals, hog rules and kill timings of `next` apply
    // from the next poll on (the meminfo, proc and PSI sources stay).
    void set_reloadable(const MemoryMonitorOptions& next);

    // One read of the meminfo source (the poll's I/O and parse), for tests and benchmarks.
    reactor::Task<Result<MemInfo>> read_now();

  private:
    static reactor::Task<void> poll_loop(MemoryMonitor* m);
    static reactor::Task<void> psi_loop(MemoryMonitor* m);
    reactor::Task<void> wait_next(std::int64_t ms);
    void evaluate(const MemInfo& mem);
    // Re-reads memory; true when it is still at least `level` (a kill may go ahead).
    reactor::Task<bool> still_short(MemoryLevel level);
    reactor::Task<void> relieve_low();
    reactor::Task<void> relieve_critical();
    reactor::Task<void> kill_hog(pid_t pid, std::string name, std::uint64_t rss_bytes);
    reactor::Task<void> kill_child(std::string name, pid_t pid, std::uint64_t rss_bytes);
    void emit(MemoryEventKind kind, pid_t pid, std::uint64_t rss, std::string name,
              std::string reason, int sig);
    std::string shortage_text() const;

    MemoryMonitorOptions options_;
    Supervisor* supervisor_;
    ProcFs proc_;
    int meminfo_fd_ = -1;
    std::optional<PsiTrigger> psi_;
    MemInfo last_;
    MemoryAssessment assessment_;
    MemoryLevel level_ = MemoryLevel::normal;
    std::atomic<bool> admitting_{true};
    std::atomic<MemoryLevel> level_atomic_{MemoryLevel::normal};
    std::int64_t next_hog_scan_ms_ = 0;
    std::int64_t next_child_kill_ms_ = 0;
    bool psi_pending_ = false;
    reactor::CancelSource* sleep_wake_ = nullptr;  // owned by the current wait_next frame
    std::vector<Listener> listeners_;
    std::function<void(const MemInfo&)> reading_hook_;
    MemoryCounters counters_;
    bool started_ = false;
    reactor::CancelSource stop_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
