// HogFinder: which processes outside the daemon's own children the memory monitor may terminate
// when memory is low. Only what the operator opted into: a process whose name (comm, or the base
// name of argv[0]) contains one of the configured patterns, with an RSS of at least
// rss_bytes_min (autopilotd's "node over 500 MB" rule, made explicit). Never pid 1 or 2, kernel
// threads, zombies, the daemon itself, an excluded pid (the supervised children, whom the
// priority path handles), a process of another user, or one with oom_score_adj -1000.
// Pure over a ProcFs, so tests use a fabricated proc tree. Any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/proc_fs.hpp"

namespace pylon::engine {

struct HogRules {
    std::vector<std::string> patterns;  // empty: nothing is ever a hog
    std::uint64_t rss_bytes_min = 500ULL * 1000 * 1000;
    uid_t uid = 0;   // only processes of this real uid
    pid_t self = 0;  // never the daemon itself
    std::vector<pid_t> exclude;
};

struct HogCandidate {
    pid_t pid = 0;
    std::string name;  // comm
    std::uint64_t rss_bytes = 0;
};

// True when `pid` (with stat `st`) is a hog under `rules` (reads its uid, argv and
// oom_score_adj).
bool is_hog(const ProcFs& proc, const HogRules& rules, const ProcStat& st);
// Every hog, largest RSS first.
std::vector<HogCandidate> find_hogs(const ProcFs& proc, const HogRules& rules);

}  // namespace pylon::engine
