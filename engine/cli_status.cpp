// `pylon status [--json]`: the daemon (pid, uptime, modes, shards), session stats (from the
// daemon, or from the database read-only when it is stopped) and the store thread's counters,
// identity, backends, relays and the provider's request counters.
// JSON keeps Pylon v0.1's keys (daemon, stats, backends, default_backend, relays) and adds ours.
// Exit 0 when the daemon runs, 3 when it does not (the report is printed either way), 1 when
// the home's pid file or database cannot be read (permission): then whether it runs is unknown.
#include <ctime>

#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "engine/config_file.hpp"
#include "engine/identity_file.hpp"
#include "engine/store_db.hpp"
#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"
#include "proto/supervision_protocol.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {
namespace {

struct StatusView {
    bool running = false;
    std::int64_t pid = 0;
    bool answered = false;  // the control socket answered
    std::string control_error;
    std::string access_error;  // the pid file or the database could not be read (EACCES...)
    proto::StatusReply status;
    proto::HealthReply health;
    std::vector<proto::RelayInfo> relays;
    std::vector<proto::BackendInfo> backends;
    bool supervised = false;  // the daemon answered Supervisor and Memory (issue 7)
    proto::SupervisorInfo supervisor;
    proto::MemoryInfo memory;
    std::vector<proto::IntakeCounter> intake;  // the provider's request counters
    bool has_store = false;                    // the daemon answered Store
    proto::StoreInfo store;
    bool identity = false;
    std::string npub;
    std::string identity_error;
    std::vector<std::string> config_relays;
    std::string config_error;
};

// Asks the daemon for Status, Health, Relays, Backends and Intake.
void ask_daemon(ControlClient& c, StatusView& v) {
    proto::JsonReader reader(control_reply_limits());
    auto status = c.request("\"Status\"");
    if (!status.ok() || status->tag != "Status" ||
        proto::decode_status(status->body_json, reader, v.status) != proto::Reject::none) {
        // An {"Error":..} reply says why (e.g. too many control connections).
        v.control_error = !status.ok()             ? status.error().message()
                          : status->tag == "Error" ? status->error
                                                   : "unexpected reply";
        return;
    }
    v.answered = true;
    auto health = c.request("\"Health\"");
    if (health.ok() && health->tag == "Health") {
        (void)proto::decode_health(health->body_json, reader, v.health);
    }
    auto relays = c.request("\"Relays\"");
    if (relays.ok() && relays->tag == "Relays") {
        (void)proto::decode_relays(relays->body_json, reader, v.relays);
    }
    auto backends = c.request("\"Backends\"");
    if (backends.ok() && backends->tag == "Backends") {
        (void)proto::decode_backends(backends->body_json, reader, v.backends);
    }
    auto sup = c.request("\"Supervisor\"");
    auto mem = c.request("\"Memory\"");
    v.supervised =
        sup.ok() && sup->tag == "Supervisor" && mem.ok() && mem->tag == "Memory" &&
        proto::decode_supervisor(sup->body_json, reader, v.supervisor) == proto::Reject::none &&
        proto::decode_memory(mem->body_json, reader, v.memory) == proto::Reject::none;
    auto intake = c.request("\"Intake\"");
    if (intake.ok() && intake->tag == "Intake") {
        (void)proto::decode_intake(intake->body_json, reader, v.intake);
    }
    auto store = c.request("\"Store\"");
    v.has_store = store.ok() && store->tag == "Store" &&
                  proto::decode_store(store->body_json, reader, v.store) == proto::Reject::none;
}

// Stats from the database when no daemon answers (read-only; a missing file is zero, an
// unreadable one is an access error).
void stats_from_db(const Home& home, StatusView& v) {
    auto db = StoreDb::open({home.db_path(), true});
    if (!db.ok()) {
        if (db.error().code() != Errc::not_found && v.access_error.empty()) {
            v.access_error = db.error().message();
        }
        return;
    }
    auto counts = (*db)->counts();
    if (counts.ok()) {
        v.status.jobs_completed = counts->jobs_completed;
        v.status.earnings_msats = counts->earnings_msats;
    }
}

StatusView gather(CliContext& ctx) {
    StatusView v;
    DaemonLink link = find_daemon(ctx.home);
    v.running = link.pid.state == PidState::running;
    v.pid = link.pid.pid;
    v.access_error = link.pid_error;
    if (link.client) {
        ask_daemon(*link.client, v);
    } else if (v.running) {
        v.control_error = link.error;
    }
    if (!v.answered) {
        v.status = proto::StatusReply{};
        v.status.running = v.running;
        stats_from_db(ctx.home, v);
    }
    // The identity and relays of the node that runs: the config it loaded (`start -c PATH`),
    // else the home's.
    std::string config_path = ctx.home.config_path();
    if (v.answered && !v.health.config.empty()) {
        config_path = v.health.config;
    }
    auto loaded = load_config_file(config_path, config_path != ctx.home.config_path());
    Config config = loaded.ok() ? loaded->config : Config{};
    if (!loaded.ok()) {
        v.config_error = loaded.error().message();
    }
    v.config_relays = config.relays;
    auto id = load_identity(identity_path(ctx.home, config),
                            static_cast<std::uint32_t>(config.identity.account));
    v.identity = id.ok();
    if (id.ok()) {
        v.npub = id->npub;
    } else if (id.error().code() != Errc::not_found) {
        v.identity_error = id.error().message();
    }
    return v;
}

// ", N progress feedback dropped, M refused (queue busy), K unreadable" when not zero.
std::string dropped_text(const proto::RelayInfo& r) {
    std::string s;
    if (r.progress_dropped > 0) {
        s += ", " + std::to_string(r.progress_dropped) + " progress feedback dropped";
    }
    if (r.publish_refused > 0) {
        s += ", " + std::to_string(r.publish_refused) + " refused (queue busy)";
    }
    if (r.unreadable > 0) {
        s += ", " + std::to_string(r.unreadable) + " unreadable";
    }
    return s;
}

std::string default_backend(const StatusView& v) {
    for (const proto::BackendInfo& b : v.backends) {
        if (b.is_default && b.available) {
            return b.id;
        }
    }
    return "";
}

// "supervisor" and "memory": the Supervisor and Memory replies' objects, null without a daemon.
void write_supervision(proto::JsonWriter& w, const StatusView& v) {
    std::string supervisor = "null";
    std::string memory = "null";
    if (v.supervised) {
        supervisor.clear();
        proto::encode_supervisor_body(v.supervisor, supervisor);
        memory.clear();
        proto::encode_memory_body(v.memory, memory);
    }
    w.key("supervisor");
    w.raw(supervisor);
    w.key("memory");
    w.raw(memory);
}

void print_json(CliContext& ctx, const StatusView& v) {
    std::string out;
    proto::JsonWriter w(out);
    w.begin_object();
    w.key("daemon");
    w.begin_object();
    w.key("running");
    w.boolean(v.running);
    w.key("pid");
    (v.running && v.pid > 0) ? w.int64(v.pid) : w.null();
    w.key("uptime_secs");
    v.answered ? w.uint64(v.status.uptime_secs) : w.null();
    w.key("provider_active");
    w.boolean(v.answered && v.status.provider_active);
    w.key("host_active");
    w.boolean(v.answered && v.status.host_active);
    w.key("responding");
    w.boolean(v.answered);
    w.key("error");
    v.access_error.empty() ? w.null() : w.string(v.access_error);
    w.end_object();
    w.key("stats");
    w.begin_object();
    w.key("jobs_completed");
    w.uint64(v.status.jobs_completed);
    w.key("earnings_msats");
    w.uint64(v.status.earnings_msats);
    w.end_object();
    w.key("backends");
    w.begin_array();
    for (const proto::BackendInfo& b : v.backends) {
        if (b.available) {
            w.string(b.id);
        }
    }
    w.end_array();
    w.key("default_backend");
    std::string def = default_backend(v);
    def.empty() ? w.null() : w.string(def);
    w.key("relays");
    w.begin_array();
    for (const std::string& r : v.config_relays) {
        w.string(r);
    }
    w.end_array();
    w.key("identity");
    w.begin_object();
    w.key("configured");
    w.boolean(v.identity);
    w.key("npub");
    v.identity ? w.string(v.npub) : w.null();
    w.end_object();
    w.field("home", ctx.home.dir());
    w.key("version");
    v.answered ? w.string(v.health.version) : w.null();
    w.key("mode");
    v.answered ? w.string(v.health.mode) : w.null();
    w.key("shards");
    v.answered ? w.uint64(v.health.shards) : w.null();
    w.key("relay_status");
    w.raw([&v] {
        std::string s;
        proto::encode_relay_list(v.relays, s);
        return s;
    }());
    w.key("backend_status");
    w.raw([&v] {
        std::string s;
        proto::encode_backend_list(v.backends, s);
        return s;
    }());
    write_supervision(w, v);
    w.key("intake");
    w.raw([&v] {
        std::string s;
        proto::encode_intake_body(v.intake, s);
        return s;
    }());
    w.key("store");
    if (v.has_store) {
        std::string s;
        proto::encode_store_body(v.store, s);
        w.raw(s);
    } else {
        w.null();
    }
    w.end_object();
    std::fprintf(ctx.out, "%s\n", out.c_str());
}

void print_daemon(CliContext& ctx, const StatusView& v) {
    std::FILE* o = ctx.out;
    std::fprintf(o, "Pylon Status\n============\n\n");
    if (!v.access_error.empty() && !v.answered) {
        std::fprintf(o, "Daemon:   Unknown (%s)\n", v.access_error.c_str());
    } else if (!v.running) {
        std::fprintf(o, "Daemon:   Stopped\n          Start it with: pylon start\n");
    } else {
        if (v.pid > 0) {
            std::fprintf(o, "Daemon:   Running (PID: %lld)\n", static_cast<long long>(v.pid));
        } else {
            std::fprintf(o, "Daemon:   Running (PID unknown)\n");
        }
        if (v.answered) {
            std::string modes;
            modes += v.status.provider_active ? "provider" : "";
            modes += v.status.host_active ? (modes.empty() ? "host" : ", host") : "";
            std::fprintf(o, "Uptime:   %s\nModes:    %s\nShards:   %u\n",
                         format_uptime(v.status.uptime_secs).c_str(),
                         modes.empty() ? ("none active (mode " + v.health.mode + ")").c_str()
                                       : modes.c_str(),
                         v.health.shards);
        } else {
            std::fprintf(o, "          (control socket not answering: %s)\n",
                         v.control_error.c_str());
        }
    }
    if (!v.answered && !v.access_error.empty()) {
        std::fprintf(o, "\nStats:    unknown (cannot read this home: see above)\n");
    } else {
        std::fprintf(o, "\n%s:\n  Jobs completed: %llu\n  Earnings:       %s\n",
                     v.answered ? "Session Stats" : "Stats (database)",
                     static_cast<unsigned long long>(v.status.jobs_completed),
                     format_sats(static_cast<std::int64_t>(v.status.earnings_msats)).c_str());
    }
    if (v.has_store) {
        const proto::StoreInfo& st = v.store;
        std::fprintf(o, "  Database:       %llu requests in %llu transactions, %llu queued%s\n",
                     static_cast<unsigned long long>(st.requests),
                     static_cast<unsigned long long>(st.transactions),
                     static_cast<unsigned long long>(st.queued),
                     st.failed_commits == 0 ? ""
                                            : (", " + std::to_string(st.failed_commits) +
                                               " FAILED commit(s): see pylon logs")
                                                  .c_str());
        if (st.lock_wait_ms > 0) {
            // Writes stall while another process holds pylon.db's write lock: say so, and who.
            std::string holder =
                wal_write_lock_holder(ctx.home.db_path(), static_cast<pid_t>(v.pid));
            char waited[32];
            if (st.lock_wait_ms < 1000) {
                std::snprintf(waited, sizeof waited, "%llu ms",
                              static_cast<unsigned long long>(st.lock_wait_ms));
            } else {
                std::snprintf(waited, sizeof waited, "%.1f s",
                              static_cast<double>(st.lock_wait_ms) / 1000.0);
            }
            std::fprintf(o,
                         "                  waiting %s for another process's write lock on "
                         "pylon.db%s (reads are answered)\n",
                         waited, holder.empty() ? "" : (", held by " + holder).c_str());
        }
    }
}

// The supervised children and the memory monitor, with its last event (issue 7).
void print_supervision(std::FILE* o, const StatusView& v) {
    if (!v.supervised) {
        return;
    }
    if (!v.supervisor.children.empty()) {
        std::fprintf(o, "\nSupervised: (pylon supervisor status)\n");
    }
    for (const proto::ChildInfo& c : v.supervisor.children) {
        std::string line = c.state;
        if (c.pid) {
            line += " (PID " + std::to_string(*c.pid) + "), up " + format_uptime(c.uptime_secs);
        }
        line += ", " + std::to_string(c.restarts) + " restarts";
        std::string problem = c.state == "not_spawning" ? c.reason : c.last_error;
        if (!problem.empty() && c.state != "running") {
            line += ": " + problem;
        }
        std::fprintf(o, "  %-10s %s\n", c.name.c_str(), line.c_str());
    }
    if (v.memory.enabled) {
        std::fprintf(o, "\nMemory:   %s, %s available of %s%s\n", v.memory.level.c_str(),
                     format_bytes(v.memory.available_bytes).c_str(),
                     format_bytes(v.memory.total_bytes).c_str(),
                     v.memory.admitting ? "" : " (not admitting new jobs)");
    }
    if (!v.memory.last_event.empty()) {
        std::fprintf(
            o, "          last event: %s (%s)\n", v.memory.last_event.c_str(),
            format_age(v.memory.last_event_at_ms / 1000, reactor::unix_ms() / 1000).c_str());
    }
}

// Peers' text (a model name, a relay's or a backend's error) as it may be printed to a terminal.
std::string terminal_safe(std::string_view text) {
    std::string out;
    reactor::append_terminal_safe(out, text);
    return out;
}

// "models: a, b, c" (the first few; "+N more" beyond), or "no models" (a server without any).
std::string models_text(const std::vector<std::string>& models) {
    constexpr std::size_t shown_max = 3;
    if (models.empty()) {
        return "no models";
    }
    std::string out = "models: ";
    for (std::size_t i = 0; i < models.size() && i < shown_max; i++) {
        out += (i == 0 ? "" : ", ") + terminal_safe(models[i]);
    }
    if (models.size() > shown_max) {
        out += ", +" + std::to_string(models.size() - shown_max) + " more";
    }
    return out;
}

void print_human(CliContext& ctx, const StatusView& v) {
    std::FILE* o = ctx.out;
    print_daemon(ctx, v);
    if (v.identity) {
        std::fprintf(o, "\nIdentity: Configured (%s)\n", v.npub.c_str());
    } else if (!v.identity_error.empty()) {
        std::fprintf(o, "\nIdentity: Invalid (%s)\n", v.identity_error.c_str());
    } else {
        std::fprintf(o, "\nIdentity: Not initialized (run: pylon init)\n");
    }
    std::fprintf(o, "\nBackends:\n");
    bool any = false;
    for (const proto::BackendInfo& b : v.backends) {
        if (b.available) {
            any = true;
            std::fprintf(o, "  Available: %s%s  %s  (%s; %u of %u slot(s) busy, %u queued)\n",
                         b.id.c_str(), b.is_default ? " (default)" : "", b.url.c_str(),
                         models_text(b.models).c_str(), b.slots_busy, b.slots, b.queued);
        }
    }
    for (const proto::BackendInfo& b : v.backends) {
        if (!b.available && b.loading) {
            any = true;
            std::fprintf(o, "  Loading:   %s  %s (loading its model; requests for it wait)\n",
                         b.id.c_str(), b.url.c_str());
        }
    }
    if (!any) {
        std::fprintf(o, "  None available%s\n", v.answered ? "" : " (the daemon probes them)");
        for (const proto::BackendInfo& b : v.backends) {
            // The probe's errors start with the URL (for the log); it is printed once here.
            std::string_view error = b.last_error;
            if (std::string prefix = b.url + ": "; error.starts_with(prefix)) {
                error.remove_prefix(prefix.size());
            }
            std::fprintf(o, "  Unavailable: %s  %s%s%s\n", b.id.c_str(), b.url.c_str(),
                         error.empty() ? "" : ": ", terminal_safe(error).c_str());
        }
        std::fprintf(o, "  Install Ollama or start a llama.cpp server.\n");
    }
    std::fprintf(o, "\nRelays:\n");
    for (const std::string& url : v.config_relays) {
        std::string state;
        for (const proto::RelayInfo& r : v.relays) {
            if (r.url == url) {
                // A connected relay's last error is history (why an earlier connection ended or
                // failed): said as such at the end, not as its state.
                bool now = r.state != "connected";
                std::string error = terminal_safe(r.last_error);
                state = " (" + r.state + (now && !error.empty() ? ": " + error : "") + "; " +
                        std::to_string(r.events_received) + " in, " +
                        std::to_string(r.events_published) + " out, " + std::to_string(r.connects) +
                        " connect(s)" + dropped_text(r) +
                        (!now && !error.empty() ? "; earlier: " + error : "") + ")";
            }
        }
        std::fprintf(o, "  %s%s\n", url.c_str(), state.c_str());
    }
    print_supervision(o, v);
    std::string counted;
    for (const proto::IntakeCounter& c : v.intake) {
        if (c.count > 0) {
            counted += (counted.empty() ? "" : ", ") + c.reason + " " + std::to_string(c.count);
        }
    }
    if (!counted.empty()) {
        std::fprintf(o, "\nRequests: %s\n", counted.c_str());
    }
    if (!v.config_error.empty()) {
        std::fprintf(o, "\nConfig:   %s\n", v.config_error.c_str());
    }
}

}  // namespace

int cmd_status(CliContext& ctx) {
    StatusView v = gather(ctx);
    if (ctx.args.has("json")) {
        print_json(ctx, v);
    } else {
        print_human(ctx, v);
    }
    if (!v.answered && !v.access_error.empty()) {
        std::fprintf(ctx.err, "pylon status: %s\n", v.access_error.c_str());
        return exit_failure;
    }
    return v.running ? exit_ok : exit_not_running;
}

}  // namespace pylon::engine
