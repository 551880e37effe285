#include "engine/run_file.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <optional>

#include "engine/pidfd.hpp"
#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

bool get_string(simdjson::dom::object obj, std::string_view key, std::string& out) {
    std::string_view v;
    if (obj[key].get_string().get(v) != simdjson::SUCCESS) {
        return false;
    }
    out.assign(v);
    return true;
}

template <typename T>
bool get_int(simdjson::dom::object obj, std::string_view key, T& out) {
    std::int64_t v = 0;
    if (obj[key].get_int64().get(v) != simdjson::SUCCESS || v < 0) {
        return false;
    }
    out = static_cast<T>(v);
    return true;
}

Result<RunRecord> decode_record(simdjson::dom::element e) {
    simdjson::dom::object obj;
    RunRecord r;
    std::string hash;
    if (e.get_object().get(obj) != simdjson::SUCCESS || !get_string(obj, "name", r.name) ||
        !get_int(obj, "pid", r.pid) || !get_int(obj, "pgid", r.pgid) ||
        !get_int(obj, "starttime", r.starttime_ticks) || !get_string(obj, "argv_hash", hash) ||
        !get_string(obj, "token", r.token) || r.pid <= 0) {
        return Error(Errc::corrupt, "run file: malformed child record");
    }
    r.argv_hash = std::strtoull(hash.c_str(), nullptr, 16);
    return r;
}

// Proves that the process behind `pid` (whose stat is `st`) belongs to record `r`.
const char* proof(const RunRecord& r, const ProcStat& st, const ProcFs& proc) {
    if (st.pid == r.pid && st.starttime_ticks == r.starttime_ticks) {
        auto argv = proc.cmdline(st.pid);
        if (argv.ok() && argv_hash(*argv) == r.argv_hash) {
            return "leader: pid, start time and argv match";
        }
    }
    if (!r.token.empty()) {
        auto token = proc.environ_value(st.pid, child_token_env);
        if (token.ok() && token->has_value() && **token == r.token) {
            return "descendant: its environment carries the child token";
        }
    }
    return nullptr;
}

// Waits (bounded) until every pidfd in `fds` that is >= 0 polls readable (the process exited);
// returns how many are still alive.
Task<std::size_t> wait_exits(std::vector<int>* fds, std::int64_t grace_ms) {
    std::int64_t deadline = reactor::monotonic_ms() + grace_ms;
    std::size_t alive = 0;
    for (int fd : *fds) {
        if (fd < 0) {
            continue;
        }
        std::int64_t left = deadline - reactor::monotonic_ms();
        int res = co_await reactor::poll(fd, POLLIN, {.timeout_ms = left > 0 ? left : 1});
        if (res < 0) {
            alive++;
        }
    }
    co_return alive;
}

}  // namespace

std::string RunFile::encode() const {
    std::string out;
    proto::JsonWriter w(out);
    w.begin_object();
    w.field_int("version", version);
    w.field("boot_id", boot_id);
    w.field_int("daemon_pid", daemon_pid);
    w.key("children");
    w.begin_array();
    for (const RunRecord& r : children) {
        w.begin_object();
        w.field("name", r.name);
        w.field_int("pid", r.pid);
        w.field_int("pgid", r.pgid);
        w.field_int("starttime", static_cast<std::int64_t>(r.starttime_ticks));
        w.field("argv_hash", hex64(r.argv_hash));
        w.field("token", r.token);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    out.push_back('\n');
    return out;
}

Result<RunFile> RunFile::decode(std::string_view json) {
    proto::Limits limits;
    limits.message_bytes_max = run_file_bytes_max;
    proto::JsonReader reader(limits);
    simdjson::dom::element root;
    if (reader.parse(json, root) != proto::Reject::none) {
        return Error(Errc::corrupt, "run file: not valid JSON");
    }
    simdjson::dom::object obj;
    simdjson::dom::array children;
    RunFile file;
    if (root.get_object().get(obj) != simdjson::SUCCESS || !get_int(obj, "version", file.version) ||
        !get_string(obj, "boot_id", file.boot_id) || !get_int(obj, "daemon_pid", file.daemon_pid) ||
        obj["children"].get_array().get(children) != simdjson::SUCCESS) {
        return Error(Errc::corrupt, "run file: missing fields");
    }
    if (file.version != 1) {
        return Error(Errc::corrupt, "run file: unknown version " + std::to_string(file.version));
    }
    for (simdjson::dom::element e : children) {
        if (file.children.size() >= run_records_max) {
            return Error(Errc::too_large, "run file: too many records");
        }
        auto r = decode_record(e);
        if (!r.ok()) {
            return std::move(r).error();
        }
        file.children.push_back(std::move(r).value());
    }
    return file;
}

std::vector<StaleProcess> find_stale(const RunFile& file, const ProcFs& proc,
                                     std::string_view boot_id) {
    std::vector<StaleProcess> out;
    if (file.boot_id != boot_id || file.children.empty()) {
        return out;
    }
    pid_t self = ::getpid();
    for (pid_t pid : proc.pids()) {
        if (pid <= 2 || pid == self || out.size() >= stale_processes_max) {
            continue;
        }
        auto cheap = proc.stat(pid);
        if (!cheap.ok()) {
            continue;
        }
        // A descendant that left the child's session and group (setsid: a daemonising tool)
        // is found by its token alone; only processes that started after that child can be
        // one, and their environment is read once.
        std::optional<Result<std::optional<std::string>>> token;
        for (const RunRecord& r : file.children) {
            bool related = pid == r.pid || cheap->session == r.pgid || cheap->pgrp == r.pgid;
            bool later = !r.token.empty() && cheap->starttime_ticks >= r.starttime_ticks;
            if (!related && !later) {
                continue;
            }
            if (!related) {
                if (!token) {
                    token.emplace(proc.environ_value(pid, child_token_env));
                }
                if (!token->ok() || !token->value().has_value() || *token->value() != r.token) {
                    continue;
                }
            }
            // Open the handle first, then prove identity: a pid reused after the open cannot
            // pass the checks against the process the handle holds.
            int fd = pidfd_open_fd(pid);
            if (fd < 0) {
                break;
            }
            auto st = proc.stat(pid);
            const char* why = st.ok() ? proof(r, *st, proc) : nullptr;
            if (why == nullptr) {
                ::close(fd);
                continue;
            }
            out.push_back(StaleProcess{r.name, pid, fd, why});
            break;
        }
    }
    return out;
}

Task<ReconcileReport> terminate_stale(std::vector<StaleProcess> stale, std::int64_t grace_ms) {
    ReconcileReport report;
    std::vector<int> fds;
    for (StaleProcess& p : stale) {
        LOG_WARN("reconcile: terminating pid %d of an earlier daemon (%s; %s)", p.pid,
                 p.name.c_str(), p.why.c_str());
        pidfd_signal(p.pidfd, SIGTERM);
        fds.push_back(p.pidfd);
    }
    co_await wait_exits(&fds, grace_ms);
    for (std::size_t i = 0; i < fds.size(); i++) {
        // A pidfd polls readable once its process has exited (also for non-children).
        struct pollfd pfd {
            fds[i], POLLIN, 0
        };
        if (::poll(&pfd, 1, 0) == 1) {
            report.terminated++;
            ::close(fds[i]);
            fds[i] = -1;
            continue;
        }
        LOG_WARN("reconcile: pid %d ignored SIGTERM for %lld ms: SIGKILL", stale[i].pid,
                 static_cast<long long>(grace_ms));
        pidfd_signal(fds[i], SIGKILL);
        report.killed++;
    }
    report.survived = co_await wait_exits(&fds, grace_ms);
    for (int fd : fds) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    co_return report;
}

}  // namespace pylon::engine
