#include "engine/hog_finder.hpp"

#include <algorithm>

namespace pylon::engine {
namespace {

bool name_matches(const std::vector<std::string>& patterns, const std::string& name) {
    return std::any_of(patterns.begin(), patterns.end(), [&name](const std::string& p) {
        return !p.empty() && name.find(p) != std::string::npos;
    });
}

std::string base_name(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool is_hog(const ProcFs& proc, const HogRules& rules, const ProcStat& st) {
    if (rules.patterns.empty() || st.pid <= 2 || st.ppid == 2 || st.pid == rules.self ||
        st.state == 'Z' || st.state == 'X') {
        return false;
    }
    if (std::find(rules.exclude.begin(), rules.exclude.end(), st.pid) != rules.exclude.end()) {
        return false;
    }
    if (st.rss_pages * ProcFs::page_bytes() < rules.rss_bytes_min) {
        return false;
    }
    bool matched = name_matches(rules.patterns, st.comm);
    if (!matched) {
        auto argv = proc.cmdline(st.pid);
        matched =
            argv.ok() && !argv->empty() && name_matches(rules.patterns, base_name((*argv)[0]));
    }
    if (!matched) {
        return false;
    }
    auto uid = proc.uid(st.pid);
    if (!uid.ok() || *uid != rules.uid) {
        return false;
    }
    auto adj = proc.oom_score_adj(st.pid);
    return adj.ok() && *adj != -1000;
}

std::vector<HogCandidate> find_hogs(const ProcFs& proc, const HogRules& rules) {
    std::vector<HogCandidate> out;
    if (rules.patterns.empty()) {
        return out;
    }
    for (pid_t pid : proc.pids()) {
        auto st = proc.stat(pid);
        if (st.ok() && is_hog(proc, rules, *st)) {
            out.push_back(HogCandidate{pid, st->comm, st->rss_pages * ProcFs::page_bytes()});
        }
    }
    std::sort(out.begin(), out.end(), [](const HogCandidate& a, const HogCandidate& b) {
        return a.rss_bytes != b.rss_bytes ? a.rss_bytes > b.rss_bytes : a.pid < b.pid;
    });
    return out;
}

}  // namespace pylon::engine
