#include "engine/proc_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace pylon::engine {
namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_i64(std::string_view text, std::int64_t& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

// Splits on single spaces.
std::vector<std::string_view> fields_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        std::size_t sp = text.find(' ');
        out.push_back(text.substr(0, sp));
        if (sp == std::string_view::npos) {
            break;
        }
        text.remove_prefix(sp + 1);
    }
    return out;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
    std::size_t open = text.find('(');
    std::size_t close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
        close + 2 > text.size()) {
        return std::nullopt;
    }
    ProcStat st;
    std::int64_t pid = 0;
    if (!parse_i64(text.substr(0, open > 0 ? open - 1 : 0), pid) || pid <= 0) {
        return std::nullopt;
    }
    st.pid = static_cast<pid_t>(pid);
    st.comm = std::string(text.substr(open + 1, close - open - 1));
    std::string_view rest = text.substr(close + 2);
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) {
        rest.remove_suffix(1);
    }
    // rest starts at field 3 (state): index i here is field i + 3.
    std::vector<std::string_view> f = fields_of(rest);
    if (f.size() < 22 || f[0].size() != 1) {
        return std::nullopt;
    }
    std::int64_t ppid = 0;
    std::int64_t pgrp = 0;
    std::int64_t session = 0;
    if (!parse_i64(f[1], ppid) || !parse_i64(f[2], pgrp) || !parse_i64(f[3], session) ||
        !parse_u64(f[19], st.starttime_ticks)) {
        return std::nullopt;
    }
    std::int64_t rss = 0;
    if (!parse_i64(f[21], rss)) {
        return std::nullopt;
    }
    st.state = f[0][0];
    st.ppid = static_cast<pid_t>(ppid);
    st.pgrp = static_cast<pid_t>(pgrp);
    st.session = static_cast<pid_t>(session);
    st.rss_pages = rss > 0 ? static_cast<std::uint64_t>(rss) : 0;
    return st;
}

std::string ProcFs::path(pid_t pid, std::string_view file) const {
    return root_ + "/" + std::to_string(pid) + "/" + std::string(file);
}

Result<std::string> ProcFs::read(const std::string& path) const {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return Error::from_errno(errno, "open " + path);
    }
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            ::close(fd);
            if (err != 0) {
                return Error::from_errno(err, "read " + path);
            }
            return out;
        }
        if (out.size() + static_cast<std::size_t>(n) > proc_file_bytes_max) {
            ::close(fd);
            return Error(Errc::too_large, path + ": too large");
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

namespace {

// The next whitespace-separated field of `line` from `pos` on.
std::string_view next_field(std::string_view line, std::size_t& pos) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) {
        pos++;
    }
    std::size_t start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') {
        pos++;
    }
    return line.substr(start, pos - start);
}

template <typename T>
bool parse_number(std::string_view text, T& out, int base = 10) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

// A line: "12: POSIX  ADVISORY  WRITE 15369 fe:00:10961027 120 120" (the end may be "EOF"; a
// waiter's line has "->" after the number).
std::optional<pid_t> parse_lock_holder(std::string_view proc_locks, unsigned dev_major,
                                       unsigned dev_minor, std::uint64_t inode,
                                       std::uint64_t offset, bool match_device) {
    while (!proc_locks.empty()) {
        std::size_t eol = proc_locks.find('\n');
        std::string_view line = proc_locks.substr(0, eol);
        proc_locks = eol == std::string_view::npos ? "" : proc_locks.substr(eol + 1);
        std::size_t pos = 0;
        std::string_view number = next_field(line, pos);
        std::string_view type = next_field(line, pos);
        if (number.empty() || number.back() != ':' || type != "POSIX") {
            continue;  // a waiter ("->"), flock, OFD (no pid), a lease
        }
        (void)next_field(line, pos);  // ADVISORY / MANDATORY
        std::string_view rw = next_field(line, pos);
        std::string_view pid_text = next_field(line, pos);
        std::string_view id = next_field(line, pos);
        std::string_view start_text = next_field(line, pos);
        std::string_view end_text = next_field(line, pos);
        std::size_t c1 = id.find(':');
        std::size_t c2 = c1 == std::string_view::npos ? c1 : id.find(':', c1 + 1);
        pid_t pid = 0;
        unsigned major = 0;
        unsigned minor = 0;
        std::uint64_t ino = 0;
        std::uint64_t start = 0;
        std::uint64_t end = 0;
        if (rw != "WRITE" || c2 == std::string_view::npos || !parse_number(pid_text, pid) ||
            !parse_number(id.substr(0, c1), major, 16) ||
            !parse_number(id.substr(c1 + 1, c2 - c1 - 1), minor, 16) ||
            !parse_number(id.substr(c2 + 1), ino) || !parse_number(start_text, start)) {
            continue;
        }
        bool to_eof = end_text == "EOF";
        if (!to_eof && !parse_number(end_text, end)) {
            continue;
        }
        bool device = !match_device || (major == dev_major && minor == dev_minor);
        if (device && ino == inode && start <= offset && (to_eof || offset <= end) && pid > 0) {
            return pid;
        }
    }
    return std::nullopt;
}

std::optional<pid_t> ProcFs::write_lock_holder(const std::string& file,
                                               std::uint64_t offset) const {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        return std::nullopt;
    }
    auto text = read(root_ + "/locks");
    if (!text.ok()) {
        return std::nullopt;
    }
    auto pid =
        parse_lock_holder(text.value(), major(st.st_dev), minor(st.st_dev), st.st_ino, offset);
    return pid ? pid
               : parse_lock_holder(text.value(), major(st.st_dev), minor(st.st_dev), st.st_ino,
                                   offset, false);
}

Result<std::string> ProcFs::boot_id() const {
    auto text = read(root_ + "/sys/kernel/random/boot_id");
    if (!text.ok()) {
        return text;
    }
    std::string id = std::move(text).value();
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
        id.pop_back();
    }
    if (id.empty()) {
        return Error(Errc::corrupt, "empty boot_id");
    }
    return id;
}

Result<ProcStat> ProcFs::stat(pid_t pid) const {
    auto text = read(path(pid, "stat"));
    if (!text.ok()) {
        return std::move(text).error();
    }
    auto st = parse_proc_stat(*text);
    if (!st) {
        return Error(Errc::corrupt, path(pid, "stat") + ": malformed");
    }
    return *st;
}

Result<std::vector<std::string>> ProcFs::cmdline(pid_t pid) const {
    auto text = read(path(pid, "cmdline"));
    if (!text.ok()) {
        return std::move(text).error();
    }
    std::vector<std::string> argv;
    std::string_view rest = *text;
    while (!rest.empty()) {
        std::size_t nul = rest.find('\0');
        argv.emplace_back(rest.substr(0, nul));
        if (nul == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(nul + 1);
    }
    return argv;
}

Result<uid_t> ProcFs::uid(pid_t pid) const {
    auto text = read(path(pid, "status"));
    if (!text.ok()) {
        return std::move(text).error();
    }
    std::size_t at = text->find("\nUid:");
    if (at == std::string::npos) {
        return Error(Errc::corrupt, path(pid, "status") + ": no Uid line");
    }
    std::string_view line = std::string_view(*text).substr(at + 5);
    std::size_t start = line.find_first_not_of(" \t");
    std::size_t end = line.find_first_of(" \t\n", start);
    std::uint64_t uid = 0;
    if (start == std::string_view::npos || !parse_u64(line.substr(start, end - start), uid)) {
        return Error(Errc::corrupt, path(pid, "status") + ": bad Uid line");
    }
    return static_cast<uid_t>(uid);
}

Result<int> ProcFs::oom_score_adj(pid_t pid) const {
    auto text = read(path(pid, "oom_score_adj"));
    if (!text.ok()) {
        return std::move(text).error();
    }
    std::string_view v = *text;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
    }
    std::int64_t adj = 0;
    if (!parse_i64(v, adj)) {
        return Error(Errc::corrupt, path(pid, "oom_score_adj") + ": malformed");
    }
    return static_cast<int>(adj);
}

Result<std::optional<std::string>> ProcFs::environ_value(pid_t pid, std::string_view key) const {
    auto text = read(path(pid, "environ"));
    if (!text.ok()) {
        return std::move(text).error();
    }
    std::string_view rest = *text;
    while (!rest.empty()) {
        std::size_t nul = rest.find('\0');
        std::string_view entry = rest.substr(0, nul);
        if (entry.size() > key.size() && entry.substr(0, key.size()) == key &&
            entry[key.size()] == '=') {
            return std::optional<std::string>(std::string(entry.substr(key.size() + 1)));
        }
        if (nul == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(nul + 1);
    }
    return std::optional<std::string>();
}

std::vector<pid_t> ProcFs::pids() const {
    std::vector<pid_t> out;
    DIR* dir = ::opendir(root_.c_str());
    if (dir == nullptr) {
        return out;
    }
    while (dirent* e = ::readdir(dir)) {
        std::uint64_t pid = 0;
        if (parse_u64(e->d_name, pid) && pid > 0 && pid < (1ULL << 31) &&
            out.size() < proc_pids_max) {
            out.push_back(static_cast<pid_t>(pid));
        }
    }
    ::closedir(dir);
    std::sort(out.begin(), out.end());
    return out;
}

// The kernel lists a thread's children in <root>/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN,
// since Linux 4.2): a few reads instead of one stat per process on the machine, which the
// supervisor's orphan scan made every 2 s on shard 0 (thousands of opens on a busy host). An
// orphan is reparented to a live thread of its subreaper, so every task is read. Without those
// files (an older or slimmer kernel, a fabricated tree), every stat is scanned.
std::optional<std::vector<pid_t>> ProcFs::children_listed(pid_t parent) const {
    std::string task_dir = root_ + "/" + std::to_string(parent) + "/task";
    DIR* dir = ::opendir(task_dir.c_str());
    if (dir == nullptr) {
        return std::nullopt;
    }
    std::vector<pid_t> out;
    bool listed = true;
    while (dirent* e = ::readdir(dir)) {
        std::uint64_t tid = 0;
        if (!parse_u64(e->d_name, tid)) {
            continue;
        }
        auto text = read(task_dir + "/" + e->d_name + "/children");
        if (!text.ok()) {
            // A thread that exited since the listing has no file to read; a missing file
            // everywhere means the kernel has none.
            listed = listed && text.error().code() == Errc::not_found &&
                     ::access((task_dir + "/" + e->d_name).c_str(), F_OK) != 0;
            continue;
        }
        std::string_view rest = *text;
        while (!rest.empty() && out.size() < proc_pids_max) {
            std::size_t sp = rest.find_first_of(" \n");
            std::uint64_t pid = 0;
            if (parse_u64(rest.substr(0, sp), pid) && pid > 0 && pid < (1ULL << 31)) {
                out.push_back(static_cast<pid_t>(pid));
            }
            rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
        }
    }
    ::closedir(dir);
    if (!listed) {
        return std::nullopt;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<pid_t> ProcFs::children_of(pid_t parent) const {
    if (auto listed = children_listed(parent)) {
        return std::move(*listed);
    }
    std::vector<pid_t> out;
    for (pid_t pid : pids()) {
        auto st = stat(pid);
        if (st.ok() && st->ppid == parent) {
            out.push_back(pid);
        }
    }
    return out;
}

std::uint64_t ProcFs::page_bytes() {
    static const std::uint64_t bytes = [] {
        long v = ::sysconf(_SC_PAGESIZE);
        return v > 0 ? static_cast<std::uint64_t>(v) : 4096;
    }();
    return bytes;
}

std::uint64_t argv_hash(const std::vector<std::string>& argv) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const std::string& a : argv) {
        for (char c : a) {
            h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        }
        h *= 0x100000001b3ULL;  // the NUL between arguments
    }
    return h;
}

}  // namespace pylon::engine
