// ProcFs: what the supervisor and the memory monitor read about processes, from a proc root
// that tests can point at a fabricated tree (earlyoom's procdir idea). /proc/<pid>/stat is
// parsed with the command name taken up to the *last* ')' so a hostile name such as "x) Z 1"
// cannot fake fields. Reads are plain synchronous reads: procfs is generated in memory and never
// waits on a disk; every read is bounded (proc_file_bytes_max). Stateless apart from the root;
// any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr std::size_t proc_file_bytes_max = 256 * 1024;
inline constexpr std::size_t proc_pids_max = 1 << 20;

struct ProcStat {
    pid_t pid = 0;
    std::string comm;  // the kernel's 15-byte name
    char state = '?';
    pid_t ppid = 0;
    pid_t pgrp = 0;
    pid_t session = 0;
    std::uint64_t starttime_ticks = 0;  // field 22: clock ticks after boot
    std::uint64_t rss_pages = 0;        // field 24
};

// Parses the text of /proc/<pid>/stat; nullopt if it is malformed.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// From the text of /proc/locks: the pid holding a granted POSIX write lock that covers byte
// `offset` of the file (device major:minor, inode); waiters ("->" lines) are not holders. With
// match_device false the inode alone is compared (btrfs and overlayfs report a device in stat()
// other than the one /proc/locks prints).
std::optional<pid_t> parse_lock_holder(std::string_view proc_locks, unsigned dev_major,
                                       unsigned dev_minor, std::uint64_t inode,
                                       std::uint64_t offset, bool match_device = true);

class ProcFs {
  public:
    explicit ProcFs(std::string root = "/proc") : root_(std::move(root)) {}

    const std::string& root() const noexcept { return root_; }
    std::string path(pid_t pid, std::string_view file) const;

    // /proc/sys/kernel/random/boot_id, trimmed.
    Result<std::string> boot_id() const;
    Result<ProcStat> stat(pid_t pid) const;
    // argv as the kernel holds it (NUL-separated, trailing NUL removed).
    Result<std::vector<std::string>> cmdline(pid_t pid) const;
    // The real uid from /proc/<pid>/status.
    Result<uid_t> uid(pid_t pid) const;
    Result<int> oom_score_adj(pid_t pid) const;
    // The value of `key` in the environment `pid` started with (nullopt when absent).
    Result<std::optional<std::string>> environ_value(pid_t pid, std::string_view key) const;
    // The numeric entries of the root, ascending.
    std::vector<pid_t> pids() const;
    // Processes whose parent is `parent`, ascending: from the kernel's children lists of its
    // threads, or a scan of every stat where those lists do not exist.
    std::vector<pid_t> children_of(pid_t parent) const;

    // The pid holding a POSIX write lock on byte `offset` of `file` (parse_lock_holder over
    // <root>/locks); nullopt when none does or it cannot be told.
    std::optional<pid_t> write_lock_holder(const std::string& file, std::uint64_t offset) const;

    static std::uint64_t page_bytes();

  private:
    Result<std::string> read(const std::string& path) const;
    std::optional<std::vector<pid_t>> children_listed(pid_t parent) const;

    std::string root_;
};

// A stable 64-bit hash (FNV-1a) of an argv, to recognise a process by its command line.
std::uint64_t argv_hash(const std::vector<std::string>& argv);

}  // namespace pylon::engine
