// `pylon worker start|stop|restart|status` and `pylon supervisor status [--json]`: the
// supervised children of a running daemon (issue 7) over its control socket.
//   worker start|stop|restart  StartWorker / StopWorker / RestartWorker, then wait (polling the
//                              Supervisor request every poll_interval_ms, at most -t SECS) until
//                              the worker is running (a new pid for restart) or stopped; a worker
//                              that fails or is not configured is an error (exit 1).
//   worker status [--json]     autopilotd's {"type":"Status"} reply: human lines, or the reply
//                              line itself with --json (autopilotd's format).
//   supervisor status [--json] every child (state, pid, uptime, restarts, last error, log file)
//                              in an aligned table, then the memory monitor; --json prints
//                              {"supervisor":{...},"memory":{...}} (docs/supervision.md).
// No daemon: the one-line hint and exit 3. Main thread only (blocking client).
#include <algorithm>
#include <cinttypes>
#include <thread>

#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "proto/json_reader.hpp"
#include "proto/supervision_protocol.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {
namespace {

constexpr std::int64_t poll_interval_ms = 100;
constexpr std::int64_t wait_secs_default = 30;
constexpr std::int64_t wait_secs_max = 3600;
constexpr const char* worker_name = "worker";  // engine/supervised_children.hpp

// Sends the bare request `name` and decodes its {"<name>":{...}} reply with `decode`.
template <typename Info>
Result<Info> ask(ControlClient& c, const std::string& name,
                 proto::Reject (*decode)(std::string_view, proto::JsonReader&, Info&)) {
    auto reply = c.request("\"" + name + "\"");
    if (!reply.ok()) {
        return std::move(reply).error();
    }
    if (reply->tag != name) {
        return Error(Errc::protocol, reply->tag == "Error" ? reply->error : "unexpected reply");
    }
    proto::JsonReader reader(control_reply_limits());
    Info info;
    if (decode(reply->body_json, reader, info) != proto::Reject::none) {
        return Error(Errc::protocol, "unreadable " + name + " reply");
    }
    return info;
}

Result<proto::SupervisorInfo> ask_supervisor(ControlClient& c) {
    return ask<proto::SupervisorInfo>(c, "Supervisor", &proto::decode_supervisor);
}

Result<proto::MemoryInfo> ask_memory(ControlClient& c) {
    return ask<proto::MemoryInfo>(c, "Memory", &proto::decode_memory);
}

const proto::ChildInfo* find_child(const proto::SupervisorInfo& info, std::string_view name) {
    for (const proto::ChildInfo& c : info.children) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

// What the LAST ERROR column and the worker's "Last error" line say.
std::string child_problem(const proto::ChildInfo& c) {
    std::string text = c.state == "not_spawning" ? c.reason : c.last_error;
    if (c.state == "restarting" && c.next_restart_in_ms > 0) {
        text += (text.empty() ? "" : "; ") + std::string("next try in ") +
                format_uptime(static_cast<std::uint64_t>((c.next_restart_in_ms + 999) / 1000));
    }
    return text;
}

// Prints rows with every column but the last padded to its widest cell.
void print_table(std::FILE* out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); i++) {
            width[i] = std::max(width[i], row[i].size());
        }
    }
    for (const auto& row : rows) {
        std::string line = "  ";
        for (std::size_t i = 0; i < row.size(); i++) {
            line += row[i];
            if (i + 1 < row.size()) {
                line.append(width[i] - row[i].size() + 2, ' ');
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        std::fprintf(out, "%s\n", line.c_str());
    }
}

void print_children(std::FILE* o, const proto::SupervisorInfo& info) {
    std::fprintf(o, "Supervisor: %zu %s (exit watch: %s)\n", info.children.size(),
                 info.children.size() == 1 ? "child" : "children", info.exit_watch.c_str());
    if (info.children.empty()) {
        std::fprintf(o,
                     "  Nothing to supervise: set [worker] command, [backends.llamacpp] binary "
                     "and model, or [agents] in config.toml\n");
        return;
    }
    std::vector<std::vector<std::string>> rows{
        {"NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST ERROR"}};
    for (const proto::ChildInfo& c : info.children) {
        std::string problem = child_problem(c);
        rows.push_back({c.name, c.state, c.pid ? std::to_string(*c.pid) : "-",
                        c.pid ? format_uptime(c.uptime_secs) : "-", std::to_string(c.restarts),
                        problem.empty() ? "-" : problem});
    }
    print_table(o, rows);
    std::fprintf(o, "\nLogs:\n");
    std::vector<std::vector<std::string>> logs;
    for (const proto::ChildInfo& c : info.children) {
        logs.push_back({c.name, c.log_path.empty() ? "-" : c.log_path});
    }
    print_table(o, logs);
}

void print_memory(std::FILE* o, const proto::MemoryInfo& m) {
    if (!m.enabled) {
        std::fprintf(o, "Memory: not monitored ([memory] enabled = false)\n");
        return;
    }
    std::fprintf(o, "Memory: %s, %s available of %s (low below %s, critical below %s)%s\n",
                 m.level.c_str(), format_bytes(m.available_bytes).c_str(),
                 format_bytes(m.total_bytes).c_str(), format_bytes(m.low_threshold_bytes).c_str(),
                 format_bytes(m.critical_threshold_bytes).c_str(),
                 m.admitting ? "" : "; not admitting new jobs");
    if (!m.last_event.empty()) {
        std::fprintf(o, "Last memory event: %s (%s)\n", m.last_event.c_str(),
                     format_age(m.last_event_at_ms / 1000, reactor::unix_ms() / 1000).c_str());
    }
}

// The daemon's control client, or the reason there is none (already printed; exit code set).
std::optional<ControlClient> connect_daemon(CliContext& ctx, int& code) {
    DaemonLink link = find_daemon(ctx.home);
    if (!link.pid_error.empty()) {
        code = fail(ctx, link.pid_error);  // unknown, never "not running"
        return std::nullopt;
    }
    if (link.pid.state != PidState::running) {
        code = report_not_running(ctx);
        return std::nullopt;
    }
    if (!link.client) {
        code = fail(ctx, "the daemon (" + pid_text(link.pid) +
                             ") does not answer on its control socket: " + link.error);
        return std::nullopt;
    }
    return std::move(link.client);
}

struct WorkerAction {
    const char* request;  // "StartWorker" ...
    const char* doing;    // "Starting" ...
    bool want_running;
    bool new_pid;
};

// Polls Supervisor until the worker reached what `action` wants; prints the outcome.
int wait_worker(CliContext& ctx, ControlClient& c, const WorkerAction& action,
                std::optional<std::int64_t> old_pid, std::int64_t wait_secs) {
    std::int64_t deadline = reactor::monotonic_ms() + wait_secs * 1000;
    std::string state;
    for (;;) {
        auto info = ask_supervisor(c);
        if (!info.ok()) {
            return fail(ctx, "supervisor: " + info.error().message());
        }
        const proto::ChildInfo* w = find_child(*info, worker_name);
        if (w == nullptr) {
            return fail(ctx, "no worker is configured ([worker] command is empty)");
        }
        state = w->state;
        bool fresh = !action.new_pid || !old_pid || w->pid != old_pid;
        if (action.want_running && state == "running" && fresh) {
            std::fprintf(ctx.out, "Worker running (PID %" PRId64 ").\n", w->pid.value_or(0));
            return exit_ok;
        }
        if (!action.want_running && (state == "stopped" || state == "not_spawning")) {
            std::fprintf(ctx.out, "Worker stopped.\n");
            return exit_ok;
        }
        if (action.want_running && (state == "failed" || state == "not_spawning")) {
            return fail(ctx, "worker " + state + ": " + child_problem(*w));
        }
        if (reactor::monotonic_ms() >= deadline) {
            return fail(ctx, "worker still " + state + " after " + std::to_string(wait_secs) +
                                 " s (see pylon worker status)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
    }
}

int worker_action(CliContext& ctx, const WorkerAction& action) {
    std::int64_t wait_secs = wait_secs_default;
    if (ctx.args.has("timeout")) {
        auto t = ctx.args.integer("timeout", wait_secs_default, 0, wait_secs_max);
        if (!t.ok()) {
            std::fprintf(ctx.err, "pylon: %s\n", t.error().message().c_str());
            return exit_usage;
        }
        wait_secs = static_cast<std::int64_t>(*t);
    }
    int code = exit_ok;
    std::optional<ControlClient> c = connect_daemon(ctx, code);
    if (!c) {
        return code;
    }
    std::optional<std::int64_t> old_pid;
    if (auto before = ask_supervisor(*c); before.ok()) {
        if (const proto::ChildInfo* w = find_child(*before, worker_name)) {
            old_pid = w->pid;
        }
    }
    auto reply = c->request("\"" + std::string(action.request) + "\"");
    if (!reply.ok()) {
        return fail(ctx, std::string(action.request) + ": " + reply.error().message());
    }
    if (reply->tag != "Ok") {
        return fail(ctx, reply->tag == "Error" ? reply->error : "unexpected reply " + reply->tag);
    }
    if (wait_secs == 0) {
        std::fprintf(ctx.out, "%s the worker.\n", action.doing);
        return exit_ok;
    }
    return wait_worker(ctx, *c, action, old_pid, wait_secs);
}

void print_worker(CliContext& ctx, const proto::WorkerReply& w, const proto::ChildInfo* child) {
    std::FILE* o = ctx.out;
    if (child == nullptr) {
        std::fprintf(o, "Worker:     not configured (set [worker] command in config.toml)\n");
    } else if (w.worker_pid) {
        std::fprintf(o, "Worker:     %s (PID %" PRId64 ")\n", w.worker_status.c_str(),
                     *w.worker_pid);
        std::fprintf(o, "Uptime:     %s\n", format_uptime(w.uptime_seconds).c_str());
    } else {
        std::fprintf(o, "Worker:     %s\n", child->state.c_str());
    }
    std::fprintf(o, "Restarts:   %" PRIu64 " (%" PRIu64 " consecutive failures)\n",
                 w.total_restarts, w.consecutive_failures);
    if (child != nullptr) {
        std::string problem = child_problem(*child);
        if (!problem.empty()) {
            std::fprintf(o, "Last error: %s\n", problem.c_str());
        }
        std::fprintf(o, "Log:        %s\n", child->log_path.c_str());
    }
    if (w.memory_total_bytes > 0) {
        std::fprintf(o, "Memory:     %s available of %s\n",
                     format_bytes(w.memory_available_bytes).c_str(),
                     format_bytes(w.memory_total_bytes).c_str());
    }
}

}  // namespace

int cmd_worker_start(CliContext& ctx) {
    return worker_action(ctx, {"StartWorker", "Starting", true, false});
}

int cmd_worker_stop(CliContext& ctx) {
    return worker_action(ctx, {"StopWorker", "Stopping", false, false});
}

int cmd_worker_restart(CliContext& ctx) {
    return worker_action(ctx, {"RestartWorker", "Restarting", true, true});
}

int cmd_worker_status(CliContext& ctx) {
    int code = exit_ok;
    std::optional<ControlClient> c = connect_daemon(ctx, code);
    if (!c) {
        return code;
    }
    if (Status st = c->send("{\"type\":\"Status\"}"); !st.ok()) {
        return fail(ctx, "Status: " + st.error().message());
    }
    auto line = c->read_line(control_client_timeout_ms);
    if (!line.ok()) {
        return fail(ctx, "Status: " + line.error().message());
    }
    if (ctx.args.has("json")) {
        std::fprintf(ctx.out, "%s\n", line->c_str());
        return exit_ok;
    }
    proto::JsonReader reader(control_reply_limits());
    proto::WorkerReply w;
    if (proto::decode_worker_reply(*line, reader, w) != proto::Reject::none || !w.success) {
        return fail(ctx, "unexpected Status reply: " + *line);
    }
    auto info = ask_supervisor(*c);
    print_worker(ctx, w, info.ok() ? find_child(*info, worker_name) : nullptr);
    return exit_ok;
}

int cmd_supervisor_status(CliContext& ctx) {
    int code = exit_ok;
    std::optional<ControlClient> c = connect_daemon(ctx, code);
    if (!c) {
        return code;
    }
    auto info = ask_supervisor(*c);
    if (!info.ok()) {
        return fail(ctx, "supervisor: " + info.error().message());
    }
    auto memory = ask_memory(*c);
    proto::MemoryInfo m = memory.ok() ? *memory : proto::MemoryInfo{};
    if (ctx.args.has("json")) {
        std::string out = "{\"supervisor\":";
        proto::encode_supervisor_body(*info, out);
        out += ",\"memory\":";
        proto::encode_memory_body(m, out);
        out += "}";
        std::fprintf(ctx.out, "%s\n", out.c_str());
        return exit_ok;
    }
    print_children(ctx.out, *info);
    std::fprintf(ctx.out, "\n");
    print_memory(ctx.out, m);
    return exit_ok;
}

}  // namespace pylon::engine
