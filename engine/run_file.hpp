// RunFile: the supervisor's record of the children it has running (<home>/run/children.json),
// rewritten on every spawn and exit, so that a daemon started after a crash of the previous one
// can find that one's children and terminate them before it starts fresh ones (no duplicates,
// no orphans holding a port). A record is trusted only within the same boot (boot_id), and a
// process is touched only after it is proven to be the recorded one: the leader by pid +
// /proc starttime + argv hash, a descendant by the PYLON_CHILD_TOKEN=<token> entry that every
// supervised child (and so its descendants) carries in its environment. A reused pid fails
// these checks and is left alone.
//
// Encoding and the search for stale processes are pure (a ProcFs may point at a fake tree);
// terminate_stale() signals through pidfds opened *before* the checks. Any thread for the pure
// parts; terminate_stale() on a shard.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/proc_fs.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

inline constexpr std::size_t run_file_bytes_max = 256 * 1024;
inline constexpr std::size_t run_records_max = 256;
inline constexpr std::size_t stale_processes_max = 1024;
// The environment entry that marks a supervised child and its descendants.
inline constexpr std::string_view child_token_env = "PYLON_CHILD_TOKEN";

struct RunRecord {
    std::string name;
    pid_t pid = 0;
    pid_t pgid = 0;  // == sid == pid (the child called setsid)
    std::uint64_t starttime_ticks = 0;
    std::uint64_t argv_hash = 0;
    std::string token;
};

struct RunFile {
    int version = 1;
    std::string boot_id;
    pid_t daemon_pid = 0;
    std::vector<RunRecord> children;

    std::string encode() const;
    static Result<RunFile> decode(std::string_view json);
};

// A process of an earlier daemon that proved to be one of its children (or their descendants).
struct StaleProcess {
    std::string name;  // the record it belongs to
    pid_t pid = 0;
    int pidfd = -1;   // opened before the checks; owned (terminate_stale closes it)
    std::string why;  // "leader: pid+starttime+argv" | "descendant: token"
};

// The processes `file` still has alive, proven as described above. Empty when the boot id
// differs. Each result holds an open pidfd.
std::vector<StaleProcess> find_stale(const RunFile& file, const ProcFs& proc,
                                     std::string_view boot_id);

struct ReconcileReport {
    std::size_t terminated = 0;  // exited after SIGTERM
    std::size_t killed = 0;      // needed SIGKILL
    std::size_t survived = 0;    // still alive after SIGKILL + grace (D state): logged
};

// SIGTERM to each (through its pidfd; every member of a group was proven one by one, so no
// group-wide kill is needed), waits up to grace_ms for them to exit (pidfd POLLIN, which works
// for non-children), then SIGKILL to the rest and another grace_ms. Closes the pidfds.
reactor::Task<ReconcileReport> terminate_stale(std::vector<StaleProcess> stale,
                                               std::int64_t grace_ms);

}  // namespace pylon::engine
